import CKernels

/// Winograd's F(4x4, 3x3) and F(2x2, 3x3) convolutions in C (Sources/CKernels/Winograd.c) for the 3x3, stride-1,
/// padding-1 layers on CPUs where oneDNN 2.6 has no Winograd kernel (AVX2 without AVX-512, activations in `nChw8c`).
/// oneDNN's direct kernels run those layers; these take 36 products per 4x4 output tile and pair of channels instead of
/// 144, or 16 per 2x2 tile instead of 36 (BENCHMARKS.md, "Winograd on AVX2"; `tileSide` picks). Tiles are split
/// between the workers; the weight gradient is summed per worker and added up at the end. The naive twin is
/// `NaiveConvolution` (Tests/TensorsTests/WinogradTests.swift).
public enum WinogradConvolution {
    /// Whether `Convolution` runs `s` here: the geometry below, on an AVX2 CPU whose activations use 8-channel blocks
    /// (on AVX-512 oneDNN's own Winograd kernels run, on `nChw16c`), for maps of 2x2 and more, at most 256 x 256
    /// channels and at least 512 output pixels a call (batch x height x width). Measured against oneDNN's direct
    /// kernels (BENCHMARKS.md, "Winograd on AVX2"): 1.4-2.4x faster on ResNet-18's layers at 224x224 (batch 32, one
    /// thread), ResNet-20's training step by 16% (median); slower on 1x1 maps, where a tile's 16 products exceed the
    /// direct 9, at 512 x 512 channels, whose 16 MB of transformed weights leave the cache, and at GENIE-M's mini-batch
    /// of 8 on 2x2 and 4x4 maps (32 and 128 pixels a call), where transforming the weights at every call costs more
    /// than it saves.
    static func handles(_ s: ConvShape) -> Bool {
        Reorder.block == 8 && VectorMath.Variant.avx2.isSupported && supports(s) && min(s.height, s.width) >= 2
            && s.inChannels * s.outChannels <= 256 * 256 && s.batch * s.outHeight * s.outWidth >= 512
    }

    /// Whether these loops compute `s`: 3x3, stride 1, padding 1, ungrouped, both activations blocked, channels a
    /// multiple of 8 (the loops' block, whatever `Reorder.block` is).
    public static func supports(_ s: ConvShape) -> Bool {
        s.kernelHeight == 3 && s.kernelWidth == 3 && s.strideHeight == 1 && s.strideWidth == 1
            && s.padHeight == 1 && s.padWidth == 1 && s.groups == 1 && s.sourceBlocked && s.destinationBlocked
            && s.inChannels % 8 == 0 && s.outChannels % 8 == 0
    }

    /// `destination = conv(source, weights) + bias`; activations in `nChw8c`, weights PyTorch's `[O, C, 3, 3]`.
    public static func forward(_ s: ConvShape, source: FloatBuffer, weights: FloatBuffer, bias: FloatBuffer?,
                               destination: FloatBuffer, tile m: Int32? = nil,
                               variant: VectorMath.Variant = VectorMath.best) {
        let m = m ?? tileSide(s)
        let u = transformed(weights, s, m, transposed: false)
        run(s, m, channels: (s.inChannels, s.outChannels)) { tiles in
            ck_winograd_forward(variant.rawValue, m, source.pointer, u.pointer, bias?.pointer, destination.pointer,
                                s.inChannels, s.outChannels, s.height, s.width, tiles.lowerBound, tiles.upperBound)
        }
    }

    /// `diffSource` from `diffDestination`: the forward loops with the kernels rotated and their channels swapped.
    public static func backwardData(_ s: ConvShape, diffDestination: FloatBuffer, weights: FloatBuffer,
                                    diffSource: FloatBuffer, tile m: Int32? = nil,
                                    variant: VectorMath.Variant = VectorMath.best) {
        let m = m ?? tileSide(s)
        let u = transformed(weights, s, m, transposed: true)
        run(s, m, channels: (s.outChannels, s.inChannels)) { tiles in
            ck_winograd_forward(variant.rawValue, m, diffDestination.pointer, u.pointer, nil, diffSource.pointer,
                                s.outChannels, s.inChannels, s.height, s.width, tiles.lowerBound, tiles.upperBound)
        }
    }

    /// `diffWeights` (`[O, C, 3, 3]`) and optionally `diffBias` (`[O]`) from the source and `diffDestination`.
    public static func backwardWeights(_ s: ConvShape, source: FloatBuffer, diffDestination: FloatBuffer,
                                       diffWeights: FloatBuffer, diffBias: FloatBuffer?, tile m: Int32? = nil,
                                       variant: VectorMath.Variant = VectorMath.best) {
        let m = m ?? tileSide(s)
        let (c, o, positions) = (s.inChannels, s.outChannels, positions(m))
        let total = tiles(s, m)
        let parts = min(workerCount, max(1, total))
        // One transformed gradient (P·O·C) and bias gradient (O) per worker, zeroed; the finish sums them.
        let slot = positions * o * c + o
        let sums = FloatBuffer(zeros: parts * slot)
        parallelChunks(parts, costPerItem: 1 << 15) { r in
            for k in r {
                let du = sums.pointer + k * slot
                ck_winograd_weight_gradient(variant.rawValue, m, source.pointer, diffDestination.pointer, du,
                                            diffBias == nil ? nil : du + positions * o * c, c, o, s.height, s.width,
                                            total * k / parts, total * (k + 1) / parts)
            }
        }
        ck_winograd_finish_weight_gradient(m, sums.pointer, parts, o, c, diffWeights.pointer, diffBias?.pointer)
    }

    /// The weights in the transformed domain, `[P, C, O]` (or `[P, O, C]` rotated, for the data gradient).
    private static func transformed(_ weights: FloatBuffer, _ s: ConvShape, _ m: Int32, transposed: Bool) -> FloatBuffer {
        let u = FloatBuffer(capacity: positions(m) * s.inChannels * s.outChannels)
        parallelChunks(s.outChannels / 8, costPerItem: 32 * positions(m) * s.inChannels) { r in  // 8 outputs at a time
            ck_winograd_weights(m, weights.pointer, s.outChannels, s.inChannels, transposed ? 1 : 0, 8 * r.lowerBound,
                                8 * r.upperBound, u.pointer)
        }
        return u
    }

    /// Runs `body` over all tiles of `s`, split between the workers.
    private static func run(_ s: ConvShape, _ m: Int32, channels: (Int, Int), _ body: (Range<Int>) -> Void) {
        parallelChunks(tiles(s, m), costPerItem: positions(m) * channels.0 * channels.1, body)
    }

    /// The side of the output tiles that `s` runs with: 4 (36 products per 16 outputs) where that takes fewer products
    /// than 2 (16 per 4; not on 2x2 maps, where one 4x4 tile holds four outputs) and at most 128 x 128 channels. Beyond
    /// that the 4x4 tiles' scratch outgrows the core's L2 cache: at 256 x 256 channels their weight gradient took
    /// twice as long as the 2x2 tiles' (BENCHMARKS.md, "F(4x4, 3x3) after all").
    public static func tileSide(_ s: ConvShape) -> Int32 {
        s.inChannels * s.outChannels <= 128 * 128 && positions(4) * tiles(s, 4) < positions(2) * tiles(s, 2) ? 4 : 2
    }

    /// The transformed values per tile of side `m`: `(m + 2)²`.
    private static func positions(_ m: Int32) -> Int { Int((m + 2) * (m + 2)) }

    /// The number of `m x m` output tiles of `s`.
    private static func tiles(_ s: ConvShape, _ m: Int32) -> Int { ck_winograd_tiles(m, s.batch, s.height, s.width) }
}
