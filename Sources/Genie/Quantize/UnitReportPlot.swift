import Foundation

extension UnitReport {
    /// An SVG line plot of each unit's output error (log scale) along the network, the worst unit in red, each
    /// unit labeled with its name and bits.
    public var plot: String {
        let width = 760.0, height = 400.0, left = 70.0, right = 20.0, top = 50.0, bottom = 130.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let errors = units.map { max($0.outputError, 1e-12) }
        let low = floor(log10(errors.min() ?? 1e-3)), high = max(ceil(log10(errors.max() ?? 1)), low + 1)
        let x = { (i: Int) in left + (Double(i) + 0.5) * plotWidth / Double(max(units.count, 1)) }
        let y = { (e: Double) in top + (high - log10(e)) / (high - low) * plotHeight }
        let number = { (v: Double) in String(format: "%.1f", v) }
        let setting = "\(arch) W\(weightBits)A\(activationBits)" + (bits.isEmpty ? "" : " (\(bits))") + ", \(method)"
        let logits = String(format: "logits %.2e, top-1 agreement %.1f%%", logitsError, 100 * top1Agreement)
        var svg = [
            "<svg xmlns='http://www.w3.org/2000/svg' width='\(Int(width))' height='\(Int(height))' font-family='sans-serif' font-size='11'>",
            "<rect width='100%' height='100%' fill='white'/>",
            "<text x='\(number(left))' y='20' font-size='14'>\(escaped(setting)): output error per unit against full precision</text>",
            "<text x='\(number(left))' y='38' fill='#555'>relative MSE on \(calibrationImages) calibration images (log scale); \(logits)</text>",
        ]
        for decade in stride(from: low, through: high, by: 1) {
            let v = y(pow(10, decade))
            svg.append("<line x1='\(number(left))' x2='\(number(width - right))' y1='\(number(v))' y2='\(number(v))' stroke='#ddd'/>")
            svg.append("<text x='\(number(left - 6))' y='\(number(v + 4))' text-anchor='end'>1e\(Int(decade))</text>")
        }
        let points = errors.enumerated().map { "\(number(x($0.offset))),\(number(y($0.element)))" }.joined(separator: " ")
        svg.append("<polyline points='\(points)' fill='none' stroke='#1f77b4' stroke-width='2'/>")
        let worst = worstUnit?.path
        for (i, unit) in units.enumerated() {
            let color = unit.path == worst ? "#d62728" : "#1f77b4"
            svg.append("<circle cx='\(number(x(i)))' cy='\(number(y(errors[i])))' r='4' fill='\(color)'><title>\(escaped(unit.path)) \(unit.bitsLabel): \(String(format: "%.3e", unit.outputError))</title></circle>")
            let labelY = height - bottom + 12
            svg.append("<text transform='translate(\(number(x(i) + 4)),\(number(labelY))) rotate(-60)' text-anchor='end' fill='\(color)'>\(escaped(unit.path)) \(unit.bitsLabel)</text>")
        }
        svg.append("</svg>")
        return svg.joined(separator: "\n") + "\n"
    }

    private func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
