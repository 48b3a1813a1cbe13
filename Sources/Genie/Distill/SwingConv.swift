import NN
import Tensors

/// GENIE-D's swing convolution (docs/METHOD.md, "Swing convolution"): before the wrapped strided convolution, the input
/// is shifted by a random (dy, dx) in {-1, 0, 1}² with reflected borders (reflect-pad 1, crop H×W at a random offset).
/// One offset per forward call, shared by the whole batch; offset (0, 0) leaves the input unchanged.
public final class SwingConv2d: Module {
    public let conv: Conv2d
    private var rng: SeededGenerator
    /// The offset drawn by the last forward call (for tests and logs).
    public private(set) var lastShift = (dy: 0, dx: 0)
    /// A fixed offset instead of random ones (to compare with reference values).
    public var fixedShift: (dy: Int, dx: Int)?
    /// Inputs whose height or width is below this are not shifted (0: every input is, as GENIE defines it).
    public var minimumSide = 0

    public init(_ conv: Conv2d, seed: UInt64) {
        self.conv = conv
        rng = SeededGenerator(seed: seed)
        super.init()
        register("conv", conv)
    }

    /// A copy that goes on with the same offset stream.
    override public func copy() -> Module {
        let copy = SwingConv2d(conv.copy() as! Conv2d, seed: 0).adopting(self)
        (copy.rng, copy.lastShift, copy.fixedShift, copy.minimumSide) = (rng, lastShift, fixedShift, minimumSide)
        return copy
    }

    /// Restarts the offset stream (each distillation batch reseeds, so batches are independent).
    public func reseed(_ seed: UInt64) { rng = SeededGenerator(seed: seed) }

    override public func forward(_ input: Tensor) -> Tensor {
        let dy = Int(rng.next() % 3) - 1, dx = Int(rng.next() % 3) - 1
        lastShift = input.shape[2...3].min()! < minimumSide ? (0, 0) : fixedShift ?? (dy, dx)
        return conv(input.shiftedReflect(dy: lastShift.dy, dx: lastShift.dx))
    }

    /// Replaces every convolution with a stride other than 1 in `model` by a swing convolution; returns
    /// the paths replaced. Each gets its own random stream derived from `seed`; inputs with a side below
    /// `minimumSide` are not shifted.
    @discardableResult
    public static func install(in model: Module, seed: UInt64, minimumSide: Int = 0) -> [String] {
        let strided = model.namedModules().compactMap { path, m -> (String, Conv2d)? in
            guard let conv = m as? Conv2d, conv.stride != 1 else { return nil }
            return (path, conv)
        }
        for (i, (path, conv)) in strided.enumerated() {
            let swing = SwingConv2d(conv, seed: seed &+ UInt64(i) &* 0x9E37_79B9)
            swing.minimumSide = minimumSide
            model.replace(path, with: swing)
        }
        return strided.map(\.0)
    }
}
