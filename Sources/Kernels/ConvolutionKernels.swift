import CDNNL

/// The geometry and memory layouts of a 2-D convolution (zero padding, no dilation).
/// Weights are PyTorch's plain `[O, C/groups, kh, kw]`; activations are `nchw` or blocked (`nChw16c` or `nChw8c`, see `Reorder.block`).
public struct ConvShape: Hashable, Sendable, CustomStringConvertible {
    public var batch, inChannels, height, width: Int
    public var outChannels, kernelHeight, kernelWidth: Int
    public var strideHeight, strideWidth, padHeight, padWidth: Int
    public var groups: Int
    /// Whether the source (and its gradient) is blocked; otherwise `nchw`.
    public var sourceBlocked: Bool
    /// Whether the destination (and its gradient) is blocked; otherwise `nchw`.
    public var destinationBlocked: Bool

    public init(batch: Int, inChannels: Int, height: Int, width: Int, outChannels: Int,
                kernelHeight: Int, kernelWidth: Int, strideHeight: Int = 1, strideWidth: Int = 1,
                padHeight: Int = 0, padWidth: Int = 0, groups: Int = 1,
                sourceBlocked: Bool = false, destinationBlocked: Bool = false) {
        (self.batch, self.inChannels, self.height, self.width) = (batch, inChannels, height, width)
        (self.outChannels, self.kernelHeight, self.kernelWidth) = (outChannels, kernelHeight, kernelWidth)
        (self.strideHeight, self.strideWidth, self.padHeight, self.padWidth) = (strideHeight, strideWidth, padHeight, padWidth)
        self.groups = groups
        (self.sourceBlocked, self.destinationBlocked) = (sourceBlocked, destinationBlocked)
    }

    public var outHeight: Int { (height + 2 * padHeight - kernelHeight) / strideHeight + 1 }
    public var outWidth: Int { (width + 2 * padWidth - kernelWidth) / strideWidth + 1 }
    /// Scalars in the source, weights and destination.
    public var sourceCount: Int { batch * inChannels * height * width }
    public var weightCount: Int { outChannels * (inChannels / groups) * kernelHeight * kernelWidth }
    public var destinationCount: Int { batch * outChannels * outHeight * outWidth }

    /// oneDNN's weight dimensions: `[O, C, kh, kw]`, or `[G, O/G, C/G, kh, kw]` with groups (the same
    /// memory as PyTorch's `[O, C/G, kh, kw]`).
    var weightDims: [Int] {
        let (g, k) = (groups, [kernelHeight, kernelWidth])
        return g == 1 ? [outChannels, inChannels] + k : [g, outChannels / g, inChannels / g] + k
    }

    public var description: String {
        "conv [\(batch),\(inChannels),\(height),\(width)] -> \(outChannels) k\(kernelHeight)x\(kernelWidth) "
            + "s\(strideHeight)x\(strideWidth) p\(padHeight)x\(padWidth) g\(groups) "
            + "\(sourceBlocked ? "blocked" : "nchw")->\(destinationBlocked ? "blocked" : "nchw")"
    }
}

/// 2-D convolutions on oneDNN, with primitives and reorders cached by shape (and `NarrowConvolution`'s loops
/// for the few-output-channel convolutions that oneDNN would pad to a whole block, `WinogradConvolution`'s for
/// 3x3 layers on AVX2 CPUs).
///
/// Activations use the caller's layouts when oneDNN has a direct kernel for them; when it would fall
/// back to its reference or im2col + gemm code (plain layouts, blocked source with plain destination,
/// nChw16c on an AVX2-only CPU), it picks its own layouts and the activations are reordered around
/// the call.
public enum Convolution {
    /// Which pass a primitive computes.
    public enum Pass: Sendable { case forward, backwardData, backwardWeights }

    /// `dst = conv(src, weights) + bias`.
    public static func forward(_ s: ConvShape, source: FloatBuffer, weights: FloatBuffer, bias: FloatBuffer?,
                               destination: FloatBuffer) {
        if NarrowConvolution.handles(s) {
            return NarrowConvolution.forward(s, source: source, weights: weights, bias: bias, destination: destination)
        }
        if WinogradConvolution.handles(s) {
            return WinogradConvolution.forward(s, source: source, weights: weights, bias: bias, destination: destination)
        }
        var args = [(DNNL_ARG_SRC, source), (DNNL_ARG_WEIGHTS, weights), (DNNL_ARG_DST, destination)]
        if let bias { args.append((DNNL_ARG_BIAS, bias)) }
        plan(s, .forward, bias: bias != nil).run(args)
    }

    /// `diffSource = d(loss)/d(src)` from `diffDestination` (in the destination's layout).
    public static func backwardData(_ s: ConvShape, diffDestination: FloatBuffer, weights: FloatBuffer,
                                    diffSource: FloatBuffer) {
        if NarrowConvolution.handles(s) {
            return NarrowConvolution.backwardData(s, diffDestination: diffDestination, weights: weights, diffSource: diffSource)
        }
        if WinogradConvolution.handles(s) {
            return WinogradConvolution.backwardData(s, diffDestination: diffDestination, weights: weights,
                                                    diffSource: diffSource)
        }
        plan(s, .backwardData, bias: false).run([(DNNL_ARG_DIFF_DST, diffDestination), (DNNL_ARG_WEIGHTS, weights),
                                                 (DNNL_ARG_DIFF_SRC, diffSource)])
    }

    /// `diffWeights` (plain `[O, C/groups, kh, kw]`) and optionally `diffBias` (`[O]`) from the source
    /// and `diffDestination`.
    public static func backwardWeights(_ s: ConvShape, source: FloatBuffer, diffDestination: FloatBuffer,
                                       diffWeights: FloatBuffer, diffBias: FloatBuffer?) {
        if NarrowConvolution.handles(s) {
            return NarrowConvolution.backwardWeights(s, source: source, diffDestination: diffDestination,
                                                     diffWeights: diffWeights, diffBias: diffBias)
        }
        if WinogradConvolution.handles(s) {
            return WinogradConvolution.backwardWeights(s, source: source, diffDestination: diffDestination,
                                                       diffWeights: diffWeights, diffBias: diffBias)
        }
        var args = [(DNNL_ARG_SRC, source), (DNNL_ARG_DIFF_DST, diffDestination), (DNNL_ARG_DIFF_WEIGHTS, diffWeights)]
        if let diffBias { args.append((DNNL_ARG_DIFF_BIAS, diffBias)) }
        plan(s, .backwardWeights, bias: diffBias != nil).run(args)
    }

    /// The oneDNN implementation used for a pass, with `+reorders` when activations are reordered
    /// around it (for checking that fast `jit` kernels are picked).
    public static func implementation(_ s: ConvShape, _ pass: Pass) -> String {
        if NarrowConvolution.handles(s) { return "swift:narrow" }
        if WinogradConvolution.handles(s) { return "c:winograd_\(WinogradConvolution.tileSide(s))x3" }
        let plan = self.plan(s, pass, bias: false)
        let activations = plan.adapters.keys.filter { $0 != DNNL_ARG_WEIGHTS && $0 != DNNL_ARG_DIFF_WEIGHTS }
        return plan.primitive.implementation + (activations.isEmpty ? "" : "+reorders")
    }

    // MARK: - Plans

    /// A convolution primitive and, per argument whose layout differs from the caller's, the reorder
    /// between them (caller -> primitive for inputs, primitive -> caller for outputs). Weights usually
    /// have one: PyTorch's plain weights are reordered to the blocked format oneDNN chose on every
    /// call, since they change every training step.
    final class Plan: Sendable {
        let primitive: Primitive
        let adapters: [Int32: Primitive]

        init(_ primitive: Primitive, adapters: [Int32: Primitive]) { (self.primitive, self.adapters) = (primitive, adapters) }

        /// Runs the primitive on the caller's buffers, reordering through temporaries where needed.
        func run(_ args: [(Int32, FloatBuffer)]) {
            var inner: [(Int32, FloatBuffer)] = []
            var outputs: [(Primitive, FloatBuffer, FloatBuffer)] = []
            for (arg, buffer) in args {
                guard let reorder = adapters[arg] else { inner.append((arg, buffer)); continue }
                let temporary = FloatBuffer(capacity: primitive.floats(arg))
                if Plan.isOutput(arg) {
                    outputs.append((reorder, temporary, buffer))
                } else {
                    reorder.execute([(DNNL_ARG_FROM, buffer), (DNNL_ARG_TO, temporary)])
                }
                inner.append((arg, temporary))
            }
            primitive.execute(inner)
            for (reorder, from, to) in outputs { reorder.execute([(DNNL_ARG_FROM, from), (DNNL_ARG_TO, to)]) }
        }

        static func isOutput(_ arg: Int32) -> Bool {
            [DNNL_ARG_DST, DNNL_ARG_DIFF_SRC, DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_DIFF_BIAS].contains(arg)
        }
    }

    private struct Key: Hashable, Sendable {
        let shape: ConvShape, pass: Pass, bias: Bool
    }

    private static let plans = PrimitiveCache<Key, Plan>()

    static func plan(_ s: ConvShape, _ pass: Pass, bias: Bool) -> Plan {
        plans.value(for: Key(shape: s, pass: pass, bias: bias)) { makePlan(s, pass, bias: bias) }
    }

    private static func makePlan(_ s: ConvShape, _ pass: Pass, bias: Bool) -> Plan {
        precondition(s.inChannels % s.groups == 0 && s.outChannels % s.groups == 0, "\(s): channels not divisible by groups")
        let src = OneDNN.activationDesc(s.batch, s.inChannels, s.height, s.width, blocked: s.sourceBlocked)
        let dst = OneDNN.activationDesc(s.batch, s.outChannels, s.outHeight, s.outWidth, blocked: s.destinationBlocked)
        let weights = OneDNN.memoryDesc(s.weightDims, s.groups == 1 ? dnnl_oihw : dnnl_goihw)
        let what = "\(pass) \(s)"

        let anySrc = OneDNN.memoryDesc([s.batch, s.inChannels, s.height, s.width], dnnl_format_tag_any)
        let anyDst = OneDNN.memoryDesc([s.batch, s.outChannels, s.outHeight, s.outWidth], dnnl_format_tag_any)
        var primitive: Primitive
        if prefersWinograd(s), let winograd = makePrimitive(s, pass, .winograd, bias: bias, src: src, dst: dst, what)
                                              ?? makePrimitive(s, pass, .winograd, bias: bias, src: anySrc, dst: anyDst, what) {
            primitive = winograd
        } else {
            primitive = makePrimitive(s, pass, .direct, bias: bias, src: src, dst: dst, what)!
            // Measured on AVX2: oneDNN's reference code is ~100x slower, and its im2col + gemm code 1.7-2.5x
            // slower, than its jit kernels on layouts it picks plus reorders. With a 1-channel input gemm
            // was 1.5x faster there, but on AVX-512 with 2 threads its backward-weights took 196 ms where
            // the blocked jit kernel takes 4 ms (ResNet-20's first layer at batch 128).
            let impl = primitive.implementation
            if impl.hasPrefix("ref") || impl.contains("gemm") {
                primitive = makePrimitive(s, pass, .direct, bias: bias, src: anySrc, dst: anyDst, what)!
            }
        }
        let callerLayouts: [Int32: dnnl_memory_desc_t] = switch pass {
        case .forward: [DNNL_ARG_SRC: src, DNNL_ARG_WEIGHTS: weights, DNNL_ARG_DST: dst]
        case .backwardData: [DNNL_ARG_DIFF_SRC: src, DNNL_ARG_WEIGHTS: weights, DNNL_ARG_DIFF_DST: dst]
        case .backwardWeights: [DNNL_ARG_SRC: src, DNNL_ARG_DIFF_WEIGHTS: weights, DNNL_ARG_DIFF_DST: dst]
        }
        var adapters: [Int32: Primitive] = [:]
        for (arg, caller) in callerLayouts {
            var (a, b) = (caller, primitive.memoryDesc(arg))
            guard dnnl_memory_desc_equal(&a, &b) == 0 else { continue }
            adapters[arg] = Plan.isOutput(arg) ? Primitive(reorderFrom: b, to: a, "argument \(arg) of \(what)")
                                               : Primitive(reorderFrom: a, to: b, "argument \(arg) of \(what)")
        }
        return Plan(primitive, adapters: adapters)
    }

    /// Whether `s` runs Winograd's F(4x4, 3x3) algorithm, where oneDNN has it (its AVX-512 kernels, for channels
    /// a multiple of 16; elsewhere the direct kernels run): 3x3, stride 1, ungrouped, at least 16 channels in and
    /// out, output maps of at least 7x7. Measured with 2 threads on AVX-512: 2-4x faster than the direct kernels on
    /// every such layer of ResNet-18 at 224x224, 1.3-2.1x on GENIE-D's generator at 14x14 (128 -> 64 channels),
    /// 1.0-1.5x on every pass of ResNet-20's 16- and 32-channel layers at batch 128 and 32, even at 7x7; on smaller
    /// maps its 6x6 input tiles are mostly padding: 2-2.5x slower at 4x4, 3-7x at 2x2, 10-43x at 1x1 (ResNet-18's
    /// last blocks on 28x28 images; BENCHMARKS.md, "Winograd convolutions"). Its sums round differently from the
    /// direct kernels' (`ConvolutionTests` holds both to the naive twin within 2e-5 of the output's scale).
    static func prefersWinograd(_ s: ConvShape) -> Bool {
        s.kernelHeight == 3 && s.kernelWidth == 3 && s.strideHeight == 1 && s.strideWidth == 1 && s.groups == 1
            && s.inChannels >= 16 && s.outChannels >= 16 && min(s.outHeight, s.outWidth) >= 7
    }

    /// The convolution primitive for activations `src` and `dst` (exact layouts or `format_tag_any`);
    /// weights in the format oneDNN prefers. Nil when oneDNN has no implementation of `algorithm` for them.
    private static func makePrimitive(_ s: ConvShape, _ pass: Pass, _ algorithm: Algorithm, bias: Bool,
                                      src: dnnl_memory_desc_t, dst: dnnl_memory_desc_t, _ what: String) -> Primitive? {
        var (src, dst) = (src, dst)
        var weights = OneDNN.memoryDesc(s.weightDims, dnnl_format_tag_any)
        var biasDesc = bias ? OneDNN.memoryDesc([s.outChannels], dnnl_x) : dnnl_memory_desc_t()
        let strides = [Int64(s.strideHeight), Int64(s.strideWidth)]
        let padding = [Int64(s.padHeight), Int64(s.padWidth)]
        // Right padding that makes the output size exact when the stride does not divide evenly.
        let padRight = [Int64((s.outHeight - 1) * s.strideHeight + s.kernelHeight - s.height - s.padHeight),
                        Int64((s.outWidth - 1) * s.strideWidth + s.kernelWidth - s.width - s.padWidth)]
        var d = dnnl_convolution_desc_t()
        var hint: Primitive? = nil
        switch pass {
        case .forward:
            OneDNN.check(dnnl_convolution_forward_desc_init(&d, dnnl_forward_training, algorithm.kind,
                         &src, &weights, &biasDesc, &dst, strides, padding, padRight),
                         "dnnl_convolution_forward_desc_init", what)
        case .backwardData:
            OneDNN.check(dnnl_convolution_backward_data_desc_init(&d, algorithm.kind,
                         &src, &weights, &dst, strides, padding, padRight),
                         "dnnl_convolution_backward_data_desc_init", what)
            hint = plan(s, .forward, bias: false).primitive
        case .backwardWeights:
            OneDNN.check(dnnl_convolution_backward_weights_desc_init(&d, algorithm.kind,
                         &src, &weights, &biasDesc, &dst, strides, padding, padRight),
                         "dnnl_convolution_backward_weights_desc_init", what)
            hint = plan(s, .forward, bias: bias).primitive
        }
        let create: Primitive.Create = { pd, attr in dnnl_primitive_desc_create(pd, &d, attr, OneDNN.engine, hint?.desc) }
        return algorithm == .direct ? Primitive(what, create) : Primitive(optional: what, create)
    }

    /// A convolution algorithm of oneDNN.
    private enum Algorithm {
        case direct, winograd
        var kind: dnnl_alg_kind_t { self == .direct ? dnnl_convolution_direct : dnnl_convolution_winograd }
    }
}
