import Genie
import NN
import Testing
import Tensors

/// `copy()` of GENIE-D's own modules: the generator's copy computes the same images and trains apart from it, and a
/// swing convolution's copy goes on with the same offset stream.
@Suite struct GenieModuleCopyTests {
    @Test func generatorCopyComputesTheSameImagesAndTrainsApart() {
        let generator = Generator(latentDimension: 32, imageSize: 28, channels: 3, seed: 1)
        var rng = SeededGenerator(seed: 3)
        let z = Tensor.randomNormal([4, 32], using: &rng)
        let copy = generator.copy() as! Generator
        #expect((copy.latentDimension, copy.imageSize, copy.channels, copy.width) == (32, 28, 3, 128))
        let before = withoutGradients { generator(z) }.scalars
        #expect(withoutGradients { copy(z) }.scalars == before)
        let parameters = copy.trainableParameters()
        Adam(parameters, learningRate: 0.1).step(parameters.map { Tensor(repeating: 1, shape: $0.value.shape) })
        #expect(withoutGradients { generator(z) }.scalars == before)
        #expect(withoutGradients { copy(z) }.scalars != before)
    }

    @Test func swingConvolutionCopyGoesOnWithTheSameOffsets() {
        let swing = SwingConv2d(Conv2d(3, 4, kernelSize: 3, stride: 2, padding: 1), seed: 5)
        let x = Tensor.ones([1, 3, 8, 8])
        _ = swing(x)
        let copy = swing.copy() as! SwingConv2d
        #expect(copy.conv !== swing.conv && copy.conv.weight !== swing.conv.weight)
        for _ in 0..<6 {
            #expect(copy(x).scalars == swing(x).scalars)
            #expect(copy.lastShift == swing.lastShift)
        }
    }
}
