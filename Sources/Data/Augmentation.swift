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
        let (h, w) = (x.shape[2], x.shape[3])
        let augmented = (0..<x.shape[0]).map { i in
            let top = padding > 0 ? uniformIndex(2 * padding + 1, &rng) - padding : 0
            let left = padding > 0 ? uniformIndex(2 * padding + 1, &rng) - padding : 0
            let flip = horizontalFlip && rng.nextUnitFloat() < 0.5
            // Source row and column of each output pixel; -1 (outside the image) reads the zero padding.
            let rows = (0..<h).map { y in (0..<h).contains(y + top) ? y + top : -1 }
            let cols = (0..<w).map { xo in
                let sx = (flip ? w - 1 - xo : xo) + left
                return (0..<w).contains(sx) ? sx : -1
            }
            return x.slice(batch: i..<(i + 1)).remapped(rows: rows, cols: cols)
        }
        return x.shape[0] == 0 ? x : Tensor.concatenated(augmented)
    }
}
