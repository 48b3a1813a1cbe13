import Tensors

/// Training-time augmentation of pixel-scale images, as torchvision's
/// `RandomCrop(size, padding: padding)` followed by `RandomHorizontalFlip()`: each image is
/// zero-padded by `padding` on every side, cropped back to its size at a random offset, and
/// mirrored left-right with probability 1/2. Apply it before normalization, so the padding is black.
public struct Augmentation: Sendable, Equatable {
    /// Zero padding on each side before the random crop; 0 disables cropping.
    public var padding: Int
    /// Whether to flip left-right with probability 1/2.
    public var horizontalFlip: Bool

    /// The usual small-image recipe: random crop with `padding` (2 for 28x28 images, 4 for CIFAR's
    /// 32x32) and random horizontal flip.
    public init(padding: Int = 2, horizontalFlip: Bool = true) {
        precondition(padding >= 0, "padding must be non-negative, got \(padding)")
        self.padding = padding
        self.horizontalFlip = horizontalFlip
    }

    /// The augmented copy of `images` `[N, C, H, W]`; the draws for image `i` (crop row and column
    /// offsets in `0...2*padding`, then the flip) come from `rng` in image order.
    public func apply(_ images: Tensor, using rng: inout SeededGenerator) -> Tensor {
        precondition(images.rank == 4, "augmentation needs images [N, C, H, W], got \(images.shape)")
        let x = images.converted(to: .plain)
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        let out = Tensor(uninitializedShape: x.shape)
        withExtendedLifetime((x, out)) {
            let src = x.buffer.pointer, dst = out.buffer.pointer
            for i in 0..<n {
                let top = padding > 0 ? uniformIndex(2 * padding + 1, &rng) - padding : 0
                let left = padding > 0 ? uniformIndex(2 * padding + 1, &rng) - padding : 0
                let flip = horizontalFlip && rng.nextUnitFloat() < 0.5
                for plane in (i * c)..<((i + 1) * c) {
                    let s = src + plane * h * w, d = dst + plane * h * w
                    for y in 0..<h {
                        let sy = y + top
                        for xo in 0..<w {
                            let sx = (flip ? w - 1 - xo : xo) + left
                            d[y * w + xo] = sy >= 0 && sy < h && sx >= 0 && sx < w ? s[sy * w + sx] : 0
                        }
                    }
                }
            }
        }
        return out
    }
}
