import Testing
import Tensors

/// The PyTorch golden values of `scripts/fixtures_layers.py`, read once.
let layersFixture: [String: Tensor] = {
    do { return try fixture("layers.safetensors") } catch { fatalError("layers fixture: \(error)") }
}()

/// A tensor of the layers fixture by name.
func golden(_ name: String) -> Tensor {
    guard let t = layersFixture[name] else { fatalError("layers fixture has no tensor '\(name)'") }
    return t
}

/// `max |a - b| / max(1, max |b|)`: the error of `a` relative to the scale of the reference `b`.
func relativeError(_ a: Tensor, _ b: Tensor) -> Float {
    let scale = max(1, b.scalars.map { abs($0) }.max() ?? 0)
    return maxAbsDifference(a, b) / scale
}

/// Expects `a` to match the reference `b` within `tolerance` relative to `b`'s scale.
func expectClose(_ a: Tensor, _ b: Tensor, _ tolerance: Float = 1e-4, _ what: String = "",
                 sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(a.shape == b.shape, "\(what): shape \(a.shape) vs \(b.shape)", sourceLocation: sourceLocation)
    guard a.shape == b.shape else { return }
    let e = relativeError(a, b)
    #expect(e <= tolerance, "\(what): relative error \(e)", sourceLocation: sourceLocation)
}

/// Gradients of `sum(f(inputs) * probe)` with respect to `inputs`.
func probedGradients(_ inputs: [Tensor], probe: Tensor, _ f: ([Tensor]) -> Tensor) -> (Tensor, [Tensor]) {
    let leaves = inputs.map { $0.requiringGradient() }
    let y = f(leaves)
    return (y.detached(), gradients(of: (y * probe).sum(), wrt: leaves))
}

let bothLayouts: [Layout] = [.plain, .blocked]

/// Plain NCHW scalars reordered to `[N, C/inner, spatial, inner]`, whatever the machine's `channelBlock`
/// (kernel tests run every block width on every machine).
func blockedScalars(_ x: [Float], batch: Int, channels: Int, spatial: Int, inner: Int) -> [Float] {
    var out = x
    for n in 0..<batch {
        for c in 0..<channels {
            for p in 0..<spatial {
                out[((n * channels / inner + c / inner) * spatial + p) * inner + c % inner] = x[(n * channels + c) * spatial + p]
            }
        }
    }
    return out
}

/// The inverse of `blockedScalars`.
func plainScalars(_ x: [Float], batch: Int, channels: Int, spatial: Int, inner: Int) -> [Float] {
    var out = x
    for n in 0..<batch {
        for c in 0..<channels {
            for p in 0..<spatial {
                out[(n * channels + c) * spatial + p] = x[((n * channels / inner + c / inner) * spatial + p) * inner + c % inner]
            }
        }
    }
    return out
}
