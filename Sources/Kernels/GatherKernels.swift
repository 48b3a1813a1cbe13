/// Separable 2-D index maps over planes of `height x width` elements of `inner` floats (1 plain,
/// 8 or 16 blocked): nearest upsampling, reflection padding, cropping and shifted reflection are all
/// `out[i, j] = x[rows[i], cols[j]]` for some maps; their gradients are the matching scatter-adds.
public enum GatherKernels {
    /// `out[plane, i, j] = x[plane, rows[i], cols[j]]`, or zero where either map entry is negative.
    /// `x` planes are `height x width`; `out` planes are `rows.count x cols.count`.
    public static func gather(_ x: FloatBuffer, _ out: FloatBuffer, planes: Int, inner: Int,
                              height: Int, width: Int, rows: [Int], cols: [Int]) {
        let xp = x.pointer, op = out.pointer
        let inPlane = height * width * inner, oh = rows.count, ow = cols.count, outPlane = oh * ow * inner
        rows.withUnsafeBufferPointer { rows in
            cols.withUnsafeBufferPointer { cols in
                let rows = rows.baseAddress, cols = cols.baseAddress
                parallelChunks(planes, costPerItem: outPlane) { r in
                    for plane in r {
                        let xb = xp + plane &* inPlane, ob = op + plane &* outPlane
                        for i in 0..<oh {
                            let y = rows![i], orow = ob + i &* ow &* inner
                            if y < 0 {
                                orow.update(repeating: 0, count: ow &* inner)
                                continue
                            }
                            let xrow = xb + y &* width &* inner
                            switch inner {
                            case 16: gatherRow(xrow, orow, cols!, ow, SIMD16<Float>.self)
                            case 8: gatherRow(xrow, orow, cols!, ow, SIMD8<Float>.self)
                            default:
                                for j in 0..<ow {
                                    let x = cols![j]
                                    orow[j] = x < 0 ? 0 : xrow[x]
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The adjoint of `gather`: `dx[plane, rows[i], cols[j]] += g[plane, i, j]` over non-negative entries,
    /// into a zeroed `dx` of `height x width` planes.
    public static func scatterAdd(_ g: FloatBuffer, _ dx: FloatBuffer, planes: Int, inner: Int,
                                  height: Int, width: Int, rows: [Int], cols: [Int]) {
        let gp = g.pointer, dp = dx.pointer
        let inPlane = height * width * inner, oh = rows.count, ow = cols.count, outPlane = oh * ow * inner
        rows.withUnsafeBufferPointer { rows in
            cols.withUnsafeBufferPointer { cols in
                let rows = rows.baseAddress, cols = cols.baseAddress
                parallelChunks(planes, costPerItem: outPlane + inPlane) { r in
                    for plane in r {
                        let db = dp + plane &* inPlane, gb = gp + plane &* outPlane
                        db.update(repeating: 0, count: inPlane)
                        for i in 0..<oh {
                            let y = rows![i]
                            if y < 0 { continue }
                            let grow = gb + i &* ow &* inner, drow = db + y &* width &* inner
                            switch inner {
                            case 16: scatterAddRow(grow, drow, cols!, ow, SIMD16<Float>.self)
                            case 8: scatterAddRow(grow, drow, cols!, ow, SIMD8<Float>.self)
                            default:
                                for j in 0..<ow {
                                    let x = cols![j]
                                    if x >= 0 { drow[x] += grow[j] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// `orow[j] = xrow[cols[j]]` (zero for negative entries), one vector of lanes per position.
    @inline(__always)
    static func gatherRow<V: ChannelLanes>(_ xrow: UnsafeMutablePointer<Float>, _ orow: UnsafeMutablePointer<Float>,
                                           _ cols: UnsafePointer<Int>, _ ow: Int, _: V.Type) {
        let lanes = V.scalarCount
        for j in 0..<ow {
            let x = cols[j]
            store(x < 0 ? V() : load(xrow + x &* lanes), orow + j &* lanes)
        }
    }

    /// `drow[cols[j]] += grow[j]` over non-negative entries, one vector of lanes per position.
    @inline(__always)
    static func scatterAddRow<V: ChannelLanes>(_ grow: UnsafeMutablePointer<Float>, _ drow: UnsafeMutablePointer<Float>,
                                               _ cols: UnsafePointer<Int>, _ ow: Int, _: V.Type) {
        let lanes = V.scalarCount
        for j in 0..<ow {
            let x = cols[j]
            if x >= 0 { store(load(drow + x &* lanes) + load(grow + j &* lanes) as V, drow + x &* lanes) }
        }
    }
}
