import CKernels
#if canImport(Glibc)
import Glibc
#endif

/// The sigmoid and `|a|^β` loops of the soft weight quantizer, vectorized in C (Sources/CKernels/VectorMath.c) and
/// compiled for several instruction sets; the widest one this CPU runs is chosen once, at first use. Their naive twins
/// are the libm loops `naiveSigmoid` and `naiveAbsPower` (Tests/TensorsTests/VectorMathTests.swift).
public enum VectorMath {
    /// An instruction set the C loops are compiled for; off x86-64 only `baseline` exists.
    public enum Variant: Int32, CaseIterable, Sendable {
        /// The architecture's baseline (SSE2 on x86-64, NEON on arm64).
        case baseline = 0
        /// AVX2 with FMA.
        case avx2 = 1
        /// AVX-512F.
        case avx512 = 2

        /// Whether this CPU runs the variant's instructions.
        public var isSupported: Bool { ck_variant_supported(rawValue) != 0 }
    }

    /// The widest variant this CPU runs, the one the quantizer's loops use.
    public static let best = Variant(rawValue: ck_best_variant())!

    /// `1 / (1 + e^(−x))` of each element, by `variant`'s loop (within 4 ulp of `naiveSigmoid`).
    public static func sigmoid(_ x: [Float], variant: Variant = best) -> [Float] {
        precondition(variant.isSupported, "this CPU does not run the \(variant) variant")
        return x.withUnsafeBufferPointer { x in
            [Float](unsafeUninitializedCapacity: x.count) { y, count in
                if let xs = x.baseAddress { ck_sigmoid(variant.rawValue, xs, y.baseAddress!, x.count) }
                count = x.count
            }
        }
    }

    /// `|a|^β` of each element for `β > 0` (0 where `a` is 0), by `variant`'s loop (within 1 ulp of `naiveAbsPower`).
    public static func absPower(_ a: [Float], _ beta: Float, variant: Variant = best) -> [Float] {
        precondition(variant.isSupported, "this CPU does not run the \(variant) variant")
        return a.withUnsafeBufferPointer { a in
            [Float](unsafeUninitializedCapacity: a.count) { y, count in
                if let xs = a.baseAddress { ck_abs_power(variant.rawValue, xs, beta, y.baseAddress!, a.count) }
                count = a.count
            }
        }
    }

    /// `Σ |x − Q(x)|^norm` over `values` for the grid `Q(x) = step·(clamp(round(x/step) + zeroPoint, lower, upper) −
    /// zeroPoint)` (round half to even): the error the quantizers' step-size searches minimize. The terms by
    /// `variant`'s loop, tile by tile, added up as float vectors and then in double.
    public static func quantizationError(_ values: ArraySlice<Float>, step: Float, zeroPoint: Float, lower: Float,
                                         upper: Float, norm: Float, variant: Variant = best) -> Float {
        precondition(variant.isSupported, "this CPU does not run the \(variant) variant")
        var grid = ck_grid(step: step, zero_point: zeroPoint, lower: lower, upper: upper, norm: norm)
        let tile = QuantizerKernels.tile
        return values.withUnsafeBufferPointer { x in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: tile) { terms in
                var sum = 0.0
                for lo in stride(from: 0, to: x.count, by: tile) {
                    let n = Swift.min(tile, x.count - lo)
                    ck_quantization_error(variant.rawValue, x.baseAddress! + lo, &grid, terms.baseAddress!, n)
                    sum += QuantizerKernels.sumOf(terms.baseAddress!, n)
                }
                return Float(sum)
            }
        }
    }

    /// The naive twin of `quantizationError`: libm's `powf` per element, added up in double in order.
    public static func naiveQuantizationError(_ values: ArraySlice<Float>, step: Float, zeroPoint: Float, lower: Float,
                                              upper: Float, norm: Float) -> Float {
        Float(values.reduce(0.0) { err, x in
            let q = step * (Swift.min(Swift.max((x / step).rounded(.toNearestOrEven) + zeroPoint, lower), upper) - zeroPoint)
            return err + Double(powf(abs(x - q), norm))
        })
    }

    /// The naive twin of `sigmoid`: libm's `expf` per element.
    public static func naiveSigmoid(_ x: [Float]) -> [Float] { x.map { 1 / (1 + expf(-$0)) } }

    /// The naive twin of `absPower`: libm's `powf` per element.
    public static func naiveAbsPower(_ a: [Float], _ beta: Float) -> [Float] { a.map { powf(abs($0), beta) } }

    /// `y[i] = σ(x[i])` for `i < n` by the best variant.
    @inline(__always)
    static func sigmoid(_ x: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
        ck_sigmoid(best.rawValue, x, y, n)
    }

    /// `y[i] = |a[i]|^β` for `i < n` by the best variant.
    @inline(__always)
    static func absPower(_ a: UnsafeMutablePointer<Float>, _ beta: Float, into y: UnsafeMutablePointer<Float>, count n: Int) {
        ck_abs_power(best.rawValue, a, beta, y, n)
    }
}
