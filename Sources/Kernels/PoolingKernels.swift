/// Pooling windows along one axis: output `i` reads inputs `starts[i] ..< ends[i]`.
public struct PoolWindows: Sendable, Equatable {
    public var starts: [Int]
    public var ends: [Int]

    public init(starts: [Int], ends: [Int]) {
        precondition(starts.count == ends.count, "window starts and ends differ in count")
        self.starts = starts
        self.ends = ends
    }

    /// The number of outputs.
    public var count: Int { starts.count }

    /// PyTorch's sliding windows (floor mode): `(size + 2 padding - kernel) / stride + 1` outputs, each
    /// window clipped to the input (padding reads nothing).
    public static func sliding(size: Int, kernel: Int, stride: Int, padding: Int) -> PoolWindows {
        let outputs = max(0, (size + 2 * padding - kernel) / stride + 1)
        let starts = (0..<outputs).map { $0 * stride - padding }
        return PoolWindows(starts: starts.map { max($0, 0) }, ends: starts.map { min($0 + kernel, size) })
    }

    /// PyTorch's adaptive windows: output `i` reads `floor(i size / outputs) ..< ceil((i + 1) size / outputs)`.
    public static func adaptive(size: Int, outputs: Int) -> PoolWindows {
        PoolWindows(starts: (0..<outputs).map { $0 * size / outputs },
                    ends: (0..<outputs).map { (($0 + 1) * size + outputs - 1) / outputs })
    }
}

/// The geometry of a pooling: `planes` (sample, channel-block) planes of `height x width` elements of
/// `inner` floats (1 plain, 8 or 16 blocked), pooled over `rows x cols` windows.
public struct PoolGeometry: Sendable {
    public var planes: Int
    public var inner: Int
    public var height: Int
    public var width: Int
    public var rows: PoolWindows
    public var cols: PoolWindows

    public init(planes: Int, inner: Int, height: Int, width: Int, rows: PoolWindows, cols: PoolWindows) {
        self.planes = planes
        self.inner = inner
        self.height = height
        self.width = width
        self.rows = rows
        self.cols = cols
    }

    var inPlane: Int { height * width * inner }
    var outPlane: Int { rows.count * cols.count * inner }

    /// Calls `body(input offset, output offset)` of every plane, the planes split over the worker threads.
    @inline(__always)
    func forEachPlane(_ body: (_ input: Int, _ output: Int) -> Void) {
        parallelChunks(planes, costPerItem: max(inPlane, outPlane) * 4) { r in
            for plane in r { body(plane &* inPlane, plane &* outPlane) }
        }
    }

    /// Calls `body(output position, rows y0..<y1, columns x0..<x1)` for every window, row-major.
    @inline(__always)
    func forEachWindow(_ body: (Int, Int, Int, Int, Int) -> Void) {
        rows.starts.withUnsafeBufferPointer { rs in
            rows.ends.withUnsafeBufferPointer { re in
                cols.starts.withUnsafeBufferPointer { cs in
                    cols.ends.withUnsafeBufferPointer { ce in
                        let ow = ce.count
                        for i in 0..<re.count {
                            let y0 = rs[i], y1 = re[i], o = i &* ow
                            for j in 0..<ow { body(o &+ j, y0, y1, cs[j], ce[j]) }
                        }
                    }
                }
            }
        }
    }
}

/// Max and average pooling over windows, forward and backward, for both layouts: one plane at a time,
/// the blocked planes with one vector of `inner` (8 or 16) lanes per position.
public enum PoolingKernels {
    /// `out = max over each window` (empty windows give -inf).
    public static func max(_ x: FloatBuffer, _ out: FloatBuffer, _ g: PoolGeometry) {
        let xp = x.pointer, op = out.pointer
        g.forEachPlane { i, o in
            switch g.inner {
            case 16: maxPlane(xp + i, op + o, g, SIMD16<Float>.self)
            case 8: maxPlane(xp + i, op + o, g, SIMD8<Float>.self)
            default: maxPlane(xp + i, op + o, g)
            }
        }
    }

    @inline(__always)
    static func maxPlane<V: ChannelLanes>(_ xb: UnsafeMutablePointer<Float>, _ ob: UnsafeMutablePointer<Float>,
                                          _ g: PoolGeometry, _: V.Type) {
        let lanes = V.scalarCount, rowStride = g.width &* lanes
        g.forEachWindow { o, y0, y1, x0, x1 in
            var m = V(repeating: -.infinity)
            var row = xb + y0 &* rowStride
            for _ in y0..<y1 {
                for x in x0..<x1 { m = V.maxBlend(m, load(row + x &* lanes)) }
                row += rowStride
            }
            store(m, ob + o &* lanes)
        }
    }

    @inline(__always)
    static func maxPlane(_ xb: UnsafeMutablePointer<Float>, _ ob: UnsafeMutablePointer<Float>, _ g: PoolGeometry) {
        let w = g.width
        g.forEachWindow { o, y0, y1, x0, x1 in
            var m = -Float.infinity
            for y in y0..<y1 {
                for x in x0..<x1 {
                    let v = xb[y &* w &+ x]
                    m = v > m ? v : m
                }
            }
            ob[o] = m
        }
    }

    /// `dx` = the output gradient `gy` routed to the first (row-major) maximum of each window, as PyTorch
    /// does (the same strict comparison as `max`); overlapping windows add up.
    public static func maxBackward(_ gy: FloatBuffer, _ x: FloatBuffer, _ dx: FloatBuffer, _ g: PoolGeometry) {
        let gp = gy.pointer, xp = x.pointer, dp = dx.pointer
        g.forEachPlane { i, o in
            (dp + i).update(repeating: 0, count: g.inPlane)
            switch g.inner {
            case 16: maxBackwardPlane(gp + o, xp + i, dp + i, g, SIMD16<Float>.self)
            case 8: maxBackwardPlane(gp + o, xp + i, dp + i, g, SIMD8<Float>.self)
            default: maxBackwardPlane(gp + o, xp + i, dp + i, g)
            }
        }
    }

    /// Lane-wise argmax by compare-and-blend, then a masked add per window position (extracting lanes
    /// for a scatter is slow here).
    @inline(__always)
    static func maxBackwardPlane<V: ChannelLanes>(_ gb: UnsafeMutablePointer<Float>, _ xb: UnsafeMutablePointer<Float>,
                                                  _ db: UnsafeMutablePointer<Float>, _ g: PoolGeometry, _: V.Type) {
        let w = g.width, lanes = V.scalarCount
        g.forEachWindow { o, y0, y1, x0, x1 in
            var best = V(repeating: -.infinity), at = V.noIndices
            for y in y0..<y1 {
                for x in x0..<x1 {
                    let k = y &* w &+ x
                    V.argmaxStep(&best, &at, load(xb + k &* lanes), Int32(truncatingIfNeeded: k))
                }
            }
            let gv: V = load(gb + o &* lanes)
            for y in y0..<y1 {
                for x in x0..<x1 {
                    let k = y &* w &+ x, d = db + k &* lanes
                    store(load(d) + V.routed(gv, at, Int32(truncatingIfNeeded: k)), d)
                }
            }
        }
    }

    @inline(__always)
    static func maxBackwardPlane(_ gb: UnsafeMutablePointer<Float>, _ xb: UnsafeMutablePointer<Float>,
                                 _ db: UnsafeMutablePointer<Float>, _ g: PoolGeometry) {
        let w = g.width
        g.forEachWindow { o, y0, y1, x0, x1 in
            var best = -Float.infinity, at = -1
            for y in y0..<y1 {
                for x in x0..<x1 {
                    let k = y &* w &+ x
                    if xb[k] > best { best = xb[k]; at = k }
                }
            }
            if at >= 0 { db[at] += gb[o] }
        }
    }

    /// `out = sum over each window / divisor`, where a nil divisor means the window's own size.
    public static func average(_ x: FloatBuffer, _ out: FloatBuffer, _ g: PoolGeometry, divisor: Float?) {
        let xp = x.pointer, op = out.pointer
        g.forEachPlane { i, o in
            switch g.inner {
            case 16: averagePlane(xp + i, op + o, g, divisor, SIMD16<Float>.self)
            case 8: averagePlane(xp + i, op + o, g, divisor, SIMD8<Float>.self)
            default: averagePlane(xp + i, op + o, g, divisor)
            }
        }
    }

    @inline(__always)
    static func averagePlane<V: ChannelLanes>(_ xb: UnsafeMutablePointer<Float>, _ ob: UnsafeMutablePointer<Float>,
                                              _ g: PoolGeometry, _ divisor: Float?, _: V.Type) {
        let lanes = V.scalarCount, rowStride = g.width &* lanes, fixedScale = divisor.map { 1 / $0 }
        g.forEachWindow { o, y0, y1, x0, x1 in
            var s = V()
            var row = xb + y0 &* rowStride
            for _ in y0..<y1 {
                for x in x0..<x1 { s += load(row + x &* lanes) }
                row += rowStride
            }
            store(s * (fixedScale ?? 1 / Float((y1 &- y0) &* (x1 &- x0))), ob + o &* lanes)
        }
    }

    @inline(__always)
    static func averagePlane(_ xb: UnsafeMutablePointer<Float>, _ ob: UnsafeMutablePointer<Float>,
                             _ g: PoolGeometry, _ divisor: Float?) {
        let w = g.width, fixedScale = divisor.map { 1 / $0 }
        g.forEachWindow { o, y0, y1, x0, x1 in
            var s: Float = 0
            for y in y0..<y1 {
                for x in x0..<x1 { s += xb[y &* w &+ x] }
            }
            ob[o] = s * (fixedScale ?? 1 / Float((y1 &- y0) &* (x1 &- x0)))
        }
    }

    /// `dx` = each window's output gradient spread evenly (`/ divisor`) over the window; overlaps add up.
    public static func averageBackward(_ gy: FloatBuffer, _ dx: FloatBuffer, _ g: PoolGeometry, divisor: Float?) {
        let gp = gy.pointer, dp = dx.pointer
        g.forEachPlane { i, o in
            (dp + i).update(repeating: 0, count: g.inPlane)
            switch g.inner {
            case 16: averageBackwardPlane(gp + o, dp + i, g, divisor, SIMD16<Float>.self)
            case 8: averageBackwardPlane(gp + o, dp + i, g, divisor, SIMD8<Float>.self)
            default: averageBackwardPlane(gp + o, dp + i, g, divisor)
            }
        }
    }

    @inline(__always)
    static func averageBackwardPlane<V: ChannelLanes>(_ gb: UnsafeMutablePointer<Float>, _ db: UnsafeMutablePointer<Float>,
                                                      _ g: PoolGeometry, _ divisor: Float?, _: V.Type) {
        let lanes = V.scalarCount, rowStride = g.width &* lanes, fixedScale = divisor.map { 1 / $0 }
        g.forEachWindow { o, y0, y1, x0, x1 in
            let v: V = load(gb + o &* lanes) * (fixedScale ?? 1 / Float((y1 &- y0) &* (x1 &- x0)))
            var row = db + y0 &* rowStride
            for _ in y0..<y1 {
                for x in x0..<x1 { store(load(row + x &* lanes) + v, row + x &* lanes) }
                row += rowStride
            }
        }
    }

    @inline(__always)
    static func averageBackwardPlane(_ gb: UnsafeMutablePointer<Float>, _ db: UnsafeMutablePointer<Float>,
                                     _ g: PoolGeometry, _ divisor: Float?) {
        let w = g.width, fixedScale = divisor.map { 1 / $0 }
        g.forEachWindow { o, y0, y1, x0, x1 in
            let v = gb[o] * (fixedScale ?? 1 / Float((y1 &- y0) &* (x1 &- x0)))
            for y in y0..<y1 {
                for x in x0..<x1 { db[y &* w &+ x] += v }
            }
        }
    }
}

/// Naive twins of the pooling kernels, straight from PyTorch's definitions on plain NCHW arrays
/// (`planes = N * C`): windows at `i * stride - padding`, padding excluded from the max and counted in
/// the average (`count_include_pad`).
public enum NaivePoolingKernels {
    public static func max(_ x: [Float], planes: Int, height: Int, width: Int,
                           kernel: Int, stride: Int, padding: Int) -> [Float] {
        pool(x, planes: planes, height: height, width: width, kernel: kernel, stride: stride, padding: padding) {
            $0.max() ?? -.infinity
        }
    }

    public static func average(_ x: [Float], planes: Int, height: Int, width: Int,
                               kernel: Int, stride: Int, padding: Int) -> [Float] {
        pool(x, planes: planes, height: height, width: width, kernel: kernel, stride: stride, padding: padding) {
            $0.reduce(0, +) / Float(kernel * kernel)
        }
    }

    static func pool(_ x: [Float], planes: Int, height: Int, width: Int, kernel: Int, stride: Int, padding: Int,
                     _ reduce: ([Float]) -> Float) -> [Float] {
        let oh = (height + 2 * padding - kernel) / stride + 1, ow = (width + 2 * padding - kernel) / stride + 1
        var out: [Float] = []
        for p in 0..<planes {
            for i in 0..<oh {
                for j in 0..<ow {
                    var window: [Float] = []
                    for dy in 0..<kernel {
                        for dx in 0..<kernel {
                            let y = i * stride - padding + dy, x0 = j * stride - padding + dx
                            if y >= 0 && y < height && x0 >= 0 && x0 < width {
                                window.append(x[(p * height + y) * width + x0])
                            }
                        }
                    }
                    out.append(reduce(window))
                }
            }
        }
        return out
    }
}
