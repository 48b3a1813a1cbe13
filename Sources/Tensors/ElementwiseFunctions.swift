import Kernels
#if canImport(Glibc)
import Glibc
#endif

// The scalar functions of the elementwise ops and their gradients, as values for `Loops` (which
// specializes and inlines them). Gradient functions take `(g, x)` or `(g, y)`: the output gradient and
// the op's input or output.

struct Add: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x + y }
}

struct Subtract: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x - y }
}

struct Multiply: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x * y }
}

struct Divide: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { x / y }
}

/// `y`.
struct SecondOperand: BinaryFunction {
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { y }
}

/// `f(y, x)`.
struct Flipped<F: BinaryFunction>: BinaryFunction {
    var f: F
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { f(y, x) }
}

/// `f(x, s)`.
struct BindRight<F: BinaryFunction>: UnaryFunction {
    var f: F, s: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { f(x, s) }
}

/// `f(s, x)`.
struct BindLeft<F: BinaryFunction>: UnaryFunction {
    var f: F, s: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { f(s, x) }
}

struct Negate: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { -x }
}

struct Square: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x * x }
}

struct SquareRoot: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x.squareRoot() }
}

struct Exp: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { expf(x) }
}

struct Log: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { logf(x) }
}

struct Tanh: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { tanhf(x) }
}

struct Sigmoid: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
}

struct Absolute: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { Swift.abs(x) }
}

struct Power: UnaryFunction {
    var p: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { powf(x, p) }
}

struct Relu: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? x : 0 }
}

struct LeakyRelu: UnaryFunction {
    var slope: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float { x > 0 ? x : slope * x }
}

/// `min(max(x, lower), upper)` (relu6 is `Clamp(0, 6)`), with strict comparisons, which compile to
/// `maxps`/`minps` (`Swift.max`'s `>=` needs a compare and a blend: 2x slower).
struct Clamp: UnaryFunction {
    var lower: Float, upper: Float
    @inline(__always) func callAsFunction(_ x: Float) -> Float {
        let y = lower > x ? lower : x
        return y > upper ? upper : y
    }
}

/// Round half to even. `Float.rounded` becomes a `rintf` call per element on baseline x86-64 (no
/// SSE4.1 `roundps`); adding and subtracting 2^23 rounds the same way (ties to even, the FPU's mode)
/// and vectorizes. Magnitudes from 2^23 up are already integers (or inf/NaN) and pass unchanged.
struct RoundEven: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float {
        let m = Swift.abs(x)
        return m < 0x1p23 ? Float(signOf: x, magnitudeOf: (m + 0x1p23) - 0x1p23) : x
    }
}

/// Floor, by `RoundEven` and a step down where that rounded up (vectorizes, as `RoundEven`).
struct Floor: UnaryFunction {
    @inline(__always) func callAsFunction(_ x: Float) -> Float {
        let r = RoundEven()(x)
        return r > x ? r - 1 : r
    }
}

/// `scale (x - y)`.
struct ScaledDifference: BinaryFunction {
    var scale: Float
    @inline(__always) func callAsFunction(_ x: Float, _ y: Float) -> Float { scale * (x - y) }
}

/// `mask != 0 ? x : y`.
struct Select: TernaryFunction {
    @inline(__always) func callAsFunction(_ m: Float, _ x: Float, _ y: Float) -> Float { m != 0 ? x : y }
}

/// `mask != 0 ? g : 0` (or the opposite with `whereZero`).
struct Masked: BinaryFunction {
    var whereZero: Bool
    @inline(__always) func callAsFunction(_ m: Float, _ g: Float) -> Float { (m != 0) != whereZero ? g : 0 }
}

// MARK: - Gradients `(g, x or y) -> dx`

/// `g * 2 x`.
struct SquareGradient: BinaryFunction {
    @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { g * 2 * x }
}

/// `g * 0.5 / y` for `y = sqrt(x)`.
struct SquareRootGradient: BinaryFunction {
    @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { g * (0.5 / y) }
}

/// `g * -y² / s` for `y = s / x`.
struct ReciprocalGradient: BinaryFunction {
    var s: Float
    @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { g * (-y * y / s) }
}

/// `g * sign(x)` (0 at 0, as PyTorch's `sign`).
struct AbsoluteGradient: BinaryFunction {
    @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { x > 0 ? g : (x < 0 ? -g : 0) }
}

/// `g * p x^(p-1)`.
struct PowerGradient: BinaryFunction {
    var p: Float
    @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { p == 0 ? 0 : g * (p * powf(x, p - 1)) }
}

/// `g` for positive `x`, else 0.
struct ReluGradient: BinaryFunction {
    @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { x > 0 ? g : 0 }
}

/// `g` where `lower < x < upper` (or `<=` both sides when `inclusive`), else 0: relu6, clamp.
struct PassBetween: BinaryFunction {
    var lower: Float, upper: Float, inclusive: Bool
    @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float {
        let inside = inclusive ? x >= lower && x <= upper : x > lower && x < upper
        return inside ? g : 0
    }
}

/// `g` for positive `x`, `slope * g` otherwise.
struct LeakyReluGradient: BinaryFunction {
    var slope: Float
    @inline(__always) func callAsFunction(_ g: Float, _ x: Float) -> Float { x > 0 ? g : slope * g }
}

/// `g (1 - y²)` for `y = tanh(x)`.
struct TanhGradient: BinaryFunction {
    @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { g * (1 - y * y) }
}

/// `g y (1 - y)` for `y = sigmoid(x)`.
struct SigmoidGradient: BinaryFunction {
    @inline(__always) func callAsFunction(_ g: Float, _ y: Float) -> Float { g * (y * (1 - y)) }
}

/// `-g a / b²`: the gradient of `a / b` for `b`.
struct QuotientDivisorGradient: TernaryFunction {
    @inline(__always) func callAsFunction(_ g: Float, _ a: Float, _ b: Float) -> Float { -(g * a) / (b * b) }
}
