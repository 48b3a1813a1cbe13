import Foundation

/// A progress bar on standard error: redrawn in place on a terminal, a line every few seconds otherwise
/// (logs stay readable). Shows the step count, rate, time left and caller-supplied fields (loss, accuracy).
public final class ProgressBar {
    public let title: String
    public let total: Int
    public let unit: String
    private let start = Date()
    private var lastDraw = Date.distantPast
    private let interactive = isatty(2) != 0
    private let quiet: Bool

    /// `unit` names what a step counts ("it", "img"); `quiet` silences it (for `--json` runs).
    public init(_ title: String, total: Int, unit: String = "it", quiet: Bool = false) {
        self.title = title
        self.total = max(total, 1)
        self.unit = unit
        self.quiet = quiet
    }

    /// Reports that `done` of `total` steps are finished, with extra fields such as `["loss": "0.123"]`, formatted only
    /// when a line is drawn (at most every 0.2 s; `String(format:)` on every step of a fast loop costs time).
    public func update(_ done: Int, _ fields: @autoclosure () -> KeyValuePairs<String, String> = [:]) {
        guard !quiet else { return }
        let now = Date()
        let finished = done >= total
        guard finished || now.timeIntervalSince(lastDraw) >= (interactive ? 0.2 : 10) else { return }
        lastDraw = now
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let left = rate > 0 ? Double(total - done) / rate : 0
        let width = 24, filled = min(width, width * done / total)
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let extra = fields().map { "\($0.key) \($0.value)" }.joined(separator: "  ")
        let line = "\(title) [\(bar)] \(done)/\(total)  \(String(format: "%.1f", rate)) \(unit)/s  "
            + "\(finished ? "took" : "left") \(ProgressBar.clock(finished ? elapsed : left))  \(extra)"
        if interactive {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K" + line + (finished ? "\n" : "")).utf8))
        } else {
            FileHandle.standardError.write(Data((line + "\n").utf8))
        }
    }

    /// `h:mm:ss` or `m:ss`.
    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
