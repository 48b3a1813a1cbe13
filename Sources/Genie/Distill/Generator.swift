import NN
import Tensors

/// GENIE-D's generator (GENIE-SPEC 2.1), scaled to the model's input: Linear(latent -> 128·s·s), BN(128),
/// nearest x2, conv 3x3 128->64, BN(64), LeakyReLU(0.2), nearest x2, conv 3x3 64->C, Tanh, BN(C, affine=False),
/// with s = imageSize / 4. It always runs in training mode: every BN uses batch statistics, so the output has
/// per-channel batch mean 0 and variance 1 and lives directly in the classifier's normalized input space.
public final class Generator: Module {
    public let latentDimension: Int, imageSize: Int, channels: Int
    let initSize: Int

    /// A generator with PyTorch's default initialization drawn from `seed`.
    public init(latentDimension: Int = 256, imageSize: Int, channels: Int, seed: UInt64) {
        precondition(imageSize % 4 == 0, "the generator needs an image size divisible by 4, got \(imageSize)")
        self.latentDimension = latentDimension
        self.imageSize = imageSize
        self.channels = channels
        initSize = imageSize / 4
        super.init()
        register("l1", Sequential([Linear(latentDimension, 128 * initSize * initSize)]))
        register("conv_blocks0", Sequential([BatchNorm2d(128)]))
        register("conv_blocks1", Sequential([Conv2d(128, 64, kernelSize: 3, padding: 1), BatchNorm2d(64),
                                             Function.leakyRelu(0.2)]))
        register("conv_blocks2", Sequential([Conv2d(64, channels, kernelSize: 3, padding: 1), Function.tanh(),
                                             BatchNorm2d(channels, affine: false)]))
        initializeParameters(seed: seed)
    }

    override public func forward(_ z: Tensor) -> Tensor {
        var x = child("l1")(z).reshaped(to: [z.shape[0], 128, initSize, initSize])
        x = child("conv_blocks0")(x).upsampledNearest(scale: 2)
        x = child("conv_blocks1")(x).upsampledNearest(scale: 2)
        return child("conv_blocks2")(x)
    }
}
