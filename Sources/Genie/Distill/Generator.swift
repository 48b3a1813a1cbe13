import NN
import Tensors

/// GENIE-D's generator (docs/METHOD.md, "The generator"), scaled to the model's input: Linear(latent -> c1·s·s),
/// BN(c1), nearest x2, conv 3x3 c1->c2, BN(c2), LeakyReLU(0.2), nearest x2, conv 3x3 c2->C, Tanh, BN(C, affine=False),
/// with s = imageSize / 4. It always runs in training mode: every BN uses batch statistics, so the output has
/// per-channel batch mean 0 and variance 1 and lives directly in the classifier's normalized input space.
public final class Generator: Module {
    public let latentDimension: Int, imageSize: Int, channels: Int, width: Int
    let initSize: Int

    /// A generator with PyTorch's default initialization drawn from `seed`; `widths` are (c1, c2).
    public init(latentDimension: Int = 256, imageSize: Int, channels: Int, widths: (Int, Int) = (128, 64), seed: UInt64) {
        precondition(imageSize % 4 == 0, "the generator needs an image size divisible by 4, got \(imageSize)")
        self.latentDimension = latentDimension
        self.imageSize = imageSize
        self.channels = channels
        width = widths.0
        initSize = imageSize / 4
        super.init()
        register("fc", Linear(latentDimension, widths.0 * initSize * initSize))
        register("bn0", BatchNorm2d(widths.0))
        register("conv1", Conv2d(widths.0, widths.1, kernelSize: 3, padding: 1))
        register("bn1", BatchNorm2d(widths.1))
        register("conv2", Conv2d(widths.1, channels, kernelSize: 3, padding: 1))
        register("bn2", BatchNorm2d(channels, affine: false))
        initializeParameters(seed: seed)
    }

    private init(copying original: Generator) {
        (latentDimension, imageSize, channels, width, initSize) =
            (original.latentDimension, original.imageSize, original.channels, original.width, original.initSize)
        super.init(copying: original)
    }

    override public func copy() -> Module { Generator(copying: self) }

    override public func forward(_ z: Tensor) -> Tensor {
        var x = child("fc")(z).reshaped(to: [z.shape[0], width, initSize, initSize])
        x = child("bn0")(x).upsampledNearest(scale: 2)
        x = child("bn1")(child("conv1")(x)).leakyRelu(slope: 0.2).upsampledNearest(scale: 2)
        return child("bn2")(child("conv2")(x).tanh())
    }
}
