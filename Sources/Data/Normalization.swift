import Tensors

/// Per-channel normalization of images `[N, C, H, W]`: `(x - mean[c]) / std[c]`, as torchvision's
/// `Normalize`. Both directions are differentiable tensor ops.
public struct Normalization: Sendable, Equatable {
    /// The per-channel mean subtracted.
    public let mean: [Float]
    /// The per-channel standard deviation divided by.
    public let std: [Float]

    /// A normalization with one mean and one std per channel.
    public init(mean: [Float], std: [Float]) {
        self.mean = mean
        self.std = std
    }

    /// `(x - mean) / std` per channel. Throws if `images` is not 4-D with `mean.count` channels.
    public func apply(_ images: Tensor) throws -> Tensor {
        let (m, s) = try parameters(for: images)
        return (images - m) / s
    }

    /// `x * std + mean` per channel: back to pixel scale (e.g. to look at generated images).
    public func invert(_ images: Tensor) throws -> Tensor {
        let (m, s) = try parameters(for: images)
        return images * s + m
    }

    /// Mean and std as `[1, C, 1, 1]` tensors, after checking that they fit `images`.
    func parameters(for images: Tensor) throws -> (Tensor, Tensor) {
        func fail(_ reason: String) -> DataError { DataError(path: "Normalization(mean: \(mean), std: \(std))", reason: reason) }
        guard mean.count == std.count, !mean.isEmpty else { throw fail("needs as many means as stds, at least one") }
        guard std.allSatisfy({ $0 > 0 && $0.isFinite }) else { throw fail("needs positive finite stds") }
        guard images.rank == 4, images.shape[1] == mean.count else {
            throw fail("is for \(mean.count) channel(s) but the images have shape \(images.shape) (\(images.rank == 4 ? "\(images.shape[1]) channels" : "not [N, C, H, W]"))")
        }
        return (Tensor(shape: [1, mean.count, 1, 1], scalars: mean), Tensor(shape: [1, std.count, 1, 1], scalars: std))
    }
}
