/// Stride-1 convolutions from a blocked source to 1-4 output channels (an image generator's last layer). oneDNN's
/// jit kernels pad the outputs to a whole block (8 or 16 times the work for one channel) and its gemm path
/// needs a plain source; these loops do the unpadded work, one source block (8 or 16 channel lanes) per vector.
/// Weights are PyTorch's `[O, C, kh, kw]`, repacked per call to `[O, C/lanes, kh, kw, lanes]`.
enum NarrowConvolution {
    /// Whether `s` is a convolution these loops run.
    static func handles(_ s: ConvShape) -> Bool {
        s.sourceBlocked && !s.destinationBlocked && s.groups == 1 && s.outChannels <= 4
            && s.strideHeight == 1 && s.strideWidth == 1
    }

    static func forward(_ s: ConvShape, source: FloatBuffer, weights: FloatBuffer, bias: FloatBuffer?, destination: FloatBuffer) {
        switch Reorder.block {
        case 16: forward(s, source, weights, bias, destination, SIMD16<Float>.self)
        default: forward(s, source, weights, bias, destination, SIMD8<Float>.self)
        }
    }

    static func backwardData(_ s: ConvShape, diffDestination: FloatBuffer, weights: FloatBuffer, diffSource: FloatBuffer) {
        switch Reorder.block {
        case 16: backwardData(s, diffDestination, weights, diffSource, SIMD16<Float>.self)
        default: backwardData(s, diffDestination, weights, diffSource, SIMD8<Float>.self)
        }
    }

    static func backwardWeights(_ s: ConvShape, source: FloatBuffer, diffDestination: FloatBuffer,
                                diffWeights: FloatBuffer, diffBias: FloatBuffer?) {
        switch Reorder.block {
        case 16: backwardWeights(s, source, diffDestination, diffWeights, diffBias, SIMD16<Float>.self)
        default: backwardWeights(s, source, diffDestination, diffWeights, diffBias, SIMD8<Float>.self)
        }
    }

    // MARK: - The loops

    /// `dst[n, o, y, x] = bias[o] + Σ_{c, ky, kx} w[o, c, ky, kx] src[n, c, y - ph + ky, x - pw + kx]`, one output row
    /// at a time: each tap adds into a row of vector accumulators (independent chains), summed across lanes at the end.
    private static func forward<V: ChannelLanes>(_ s: ConvShape, _ src: FloatBuffer, _ weights: FloatBuffer,
                                                 _ bias: FloatBuffer?, _ dst: FloatBuffer, _: V.Type) {
        let g = Geometry(s, lanes: V.scalarCount)
        let packed = g.pack(weights)
        packed.withUnsafeBufferPointer { wp in
            let wp = wp.baseAddress!, sp = src.pointer, dp = dst.pointer, bp = bias?.pointer
            parallelChunks(s.batch * s.outChannels, costPerItem: g.outH * g.outW * s.inChannels * g.kh * g.kw) { r in
                withRow(g.outW, V.self) { row in
                    for no in r {
                        let (n, o) = (no / s.outChannels, no % s.outChannels)
                        for y in 0..<g.outH {
                            row.update(repeating: V(), count: g.outW)
                            for cb in 0..<g.blocks {
                                for ky in g.span(y - g.ph, g.kh, g.h) {
                                    let line = sp + g.source(n, cb, y - g.ph + ky, 0)
                                    for kx in 0..<g.kw {
                                        let wv: V = load(wp + g.weight(o, cb, ky, kx))
                                        for x in g.span(kx - g.pw, g.outW, g.w) {
                                            row[x] += wv * load(line + (x &+ kx &- g.pw) &* g.lanes)
                                        }
                                    }
                                }
                            }
                            let b = bp?[o] ?? 0, out = dp + (no &* g.outH &+ y) &* g.outW
                            for x in 0..<g.outW { out[x] = row[x].sum() + b }
                        }
                    }
                }
            }
        }
    }

    /// `dsrc[n, c, iy, ix] = Σ_{o, ky, kx} w[o, c, ky, kx] g[n, o, iy + ph - ky, ix + pw - kx]`, one source row of one
    /// block at a time, accumulated as in `forward`.
    private static func backwardData<V: ChannelLanes>(_ s: ConvShape, _ diff: FloatBuffer, _ weights: FloatBuffer,
                                                      _ dsrc: FloatBuffer, _: V.Type) {
        let g = Geometry(s, lanes: V.scalarCount)
        let packed = g.pack(weights)
        packed.withUnsafeBufferPointer { wp in
            let wp = wp.baseAddress!, gp = diff.pointer, dp = dsrc.pointer
            parallelChunks(s.batch * g.blocks, costPerItem: g.h * g.w * s.outChannels * g.kh * g.kw * g.lanes) { r in
                withRow(g.w, V.self) { row in
                    for nb in r {
                        let (n, cb) = (nb / g.blocks, nb % g.blocks)
                        for iy in 0..<g.h {
                            row.update(repeating: V(), count: g.w)
                            for o in 0..<s.outChannels {
                                for ky in g.reaching(iy, g.kh, g.ph, g.outH) {
                                    let line = gp + ((n &* s.outChannels &+ o) &* g.outH &+ iy &+ g.ph &- ky) &* g.outW
                                    for kx in 0..<g.kw {
                                        let wv: V = load(wp + g.weight(o, cb, ky, kx))
                                        for ix in g.span(g.pw - kx, g.w, g.outW) {
                                            row[ix] += wv * V(repeating: line[ix &+ g.pw &- kx])
                                        }
                                    }
                                }
                            }
                            let out = dp + g.source(n, cb, iy, 0)
                            for ix in 0..<g.w { store(row[ix], out + ix &* g.lanes) }
                        }
                    }
                }
            }
        }
    }

    /// Runs `body` with a scratch row of `count` vectors.
    @inline(__always)
    private static func withRow<V: ChannelLanes>(_ count: Int, _: V.Type, _ body: (UnsafeMutablePointer<V>) -> Void) {
        withUnsafeTemporaryAllocation(of: V.self, capacity: max(count, 1)) { body($0.baseAddress!) }
    }

    /// `dw[o, c, ky, kx] = Σ_{n, y, x} g[n, o, y, x] src[n, c, y - ph + ky, x - pw + kx]`, `db[o] = Σ g[n, o]`:
    /// one partial sum per worker over its share of the batch, added up at the end.
    private static func backwardWeights<V: ChannelLanes>(_ s: ConvShape, _ src: FloatBuffer, _ diff: FloatBuffer,
                                                         _ dw: FloatBuffer, _ db: FloatBuffer?, _: V.Type) {
        let g = Geometry(s, lanes: V.scalarCount)
        let parts = max(1, min(workerCount, s.batch)), size = g.packedCount
        var partials = [Float](repeating: 0, count: parts * size)
        partials.withUnsafeMutableBufferPointer { pp in
            let pp = pp.baseAddress!, sp = src.pointer, gp = diff.pointer
            parallelChunks(parts, costPerItem: 1 << 20) { r in
                for part in r {
                    let acc = pp + part &* size
                    for n in (s.batch * part / parts)..<(s.batch * (part + 1) / parts) {
                        for o in 0..<s.outChannels {
                            let plane = gp + (n &* s.outChannels &+ o) &* g.outH &* g.outW
                            for cb in 0..<g.blocks {
                                for ky in 0..<g.kh {
                                    for kx in 0..<g.kw {
                                        var (even, odd) = (V(), V())  // two chains of additions
                                        let xs = g.span(kx - g.pw, g.outW, g.w)
                                        for y in g.span(ky - g.ph, g.outH, g.h) {
                                            let row = plane + y &* g.outW, line = sp + g.source(n, cb, y - g.ph + ky, kx - g.pw)
                                            var x = xs.lowerBound
                                            while x &+ 1 < xs.upperBound {
                                                even += V(repeating: row[x]) * load(line + x &* g.lanes)
                                                odd += V(repeating: row[x &+ 1]) * load(line + (x &+ 1) &* g.lanes)
                                                x &+= 2
                                            }
                                            if x < xs.upperBound { even += V(repeating: row[x]) * load(line + x &* g.lanes) }
                                        }
                                        let at = acc + g.weight(o, cb, ky, kx)
                                        store(load(at) + even + odd, at)
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        for part in 1..<parts {
            for i in 0..<size { partials[i] += partials[part * size + i] }
        }
        g.unpack(partials, into: dw)
        if let db {  // per (sample, output) sums over space, then over the batch in double precision
            let sums = BatchNormKernels.sums(diff, ChannelShape(batch: s.batch, channels: s.outChannels,
                                                                spatial: g.outH * g.outW, inner: 1))
            for o in 0..<s.outChannels {
                db.pointer[o] = Float(stride(from: o, to: sums.count, by: s.outChannels).reduce(0.0) { $0 + Double(sums[$1]) })
            }
        }
    }

    /// Sizes, offsets into the blocked source and packed weights, and the valid tap ranges at the borders.
    private struct Geometry {
        let lanes, blocks, h, w, outH, outW, kh, kw, ph, pw, outChannels: Int

        init(_ s: ConvShape, lanes: Int) {
            (self.lanes, blocks) = (lanes, s.inChannels / lanes)
            (h, w, outH, outW) = (s.height, s.width, s.outHeight, s.outWidth)
            (kh, kw, ph, pw, outChannels) = (s.kernelHeight, s.kernelWidth, s.padHeight, s.padWidth, s.outChannels)
        }

        var packedCount: Int { outChannels * blocks * kh * kw * lanes }

        @inline(__always) func source(_ n: Int, _ cb: Int, _ y: Int, _ x: Int) -> Int {
            (((n &* blocks &+ cb) &* h &+ y) &* w &+ x) &* lanes
        }

        @inline(__always) func weight(_ o: Int, _ cb: Int, _ ky: Int, _ kx: Int) -> Int {
            (((o &* blocks &+ cb) &* kh &+ ky) &* kw &+ kx) &* lanes
        }

        /// The positions `i` in `0..<count` for which `i + shift` lies in `0..<limit` (taps or outputs that stay
        /// inside the source).
        @inline(__always) func span(_ shift: Int, _ count: Int, _ limit: Int) -> Range<Int> {
            let lo = max(0, -shift), hi = min(count, limit - shift)
            return lo..<max(lo, hi)
        }

        /// The taps `k` through which source position `at` reaches an output inside `0..<outSize`:
        /// `0 <= at + pad - k < outSize`.
        @inline(__always) func reaching(_ at: Int, _ k: Int, _ pad: Int, _ outSize: Int) -> Range<Int> {
            let lo = max(0, at + pad - outSize + 1), hi = min(k, at + pad + 1)
            return lo..<max(lo, hi)
        }

        /// PyTorch's `[O, C, kh, kw]` weights as `[O, C/lanes, kh, kw, lanes]`.
        func pack(_ weights: FloatBuffer) -> [Float] {
            var out = [Float](repeating: 0, count: packedCount)
            forEachWeight { packed, plain in out[packed] = weights.pointer[plain] }
            return out
        }

        /// The inverse of `pack`, into PyTorch's layout.
        func unpack(_ packed: [Float], into weights: FloatBuffer) {
            forEachWeight { at, plain in weights.pointer[plain] = packed[at] }
        }

        /// Calls `body(packed, plain)` with every weight's index in the packed and in PyTorch's layout.
        private func forEachWeight(_ body: (Int, Int) -> Void) {
            for o in 0..<outChannels {
                for c in 0..<(blocks * lanes) {
                    for ky in 0..<kh {
                        for kx in 0..<kw { body(weight(o, c / lanes, ky, kx) + c % lanes, ((o * blocks * lanes + c) * kh + ky) * kw + kx) }
                    }
                }
            }
        }
    }
}
