import Tensors

/// An 8-bit image with interleaved channels: sample `c` of pixel `(y, x)` is
/// `pixels[(y * width + x) * channels + c]`.
public struct PNGImage: Sendable, Equatable {
    /// Pixels per row.
    public var width: Int
    /// Rows.
    public var height: Int
    /// 1 gray, 2 gray + alpha, 3 RGB, 4 RGBA.
    public var channels: Int
    /// `height * width * channels` samples, row-major, channels interleaved.
    public var pixels: [UInt8]

    /// An image of the given size holding `pixels` (the counts must agree).
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0 && (1...4).contains(channels),
                     "a PNGImage needs a positive size and 1 to 4 channels, got \(width)x\(height)x\(channels)")
        precondition(pixels.count == width * height * channels,
                     "a \(width)x\(height) image of \(channels) channels holds \(width * height * channels) samples, got \(pixels.count)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The image with 1 (gray) or 3 (RGB) channels, converted as PIL's `convert("L")` and
    /// `convert("RGB")` do: alpha is dropped, gray is replicated to RGB, and RGB becomes gray by
    /// ITU-R 601-2 luma, `L = (19595 R + 38470 G + 7471 B + 32768) >> 16` (PIL's fixed-point form of
    /// `0.299 R + 0.587 G + 0.114 B`).
    public func converted(toChannels target: Int) -> PNGImage {
        precondition(target == 1 || target == 3, "images convert to 1 or 3 channels, not \(target)")
        if target == channels { return self }
        let out = ImageBytes.convertChannels(pixels, count: width * height, from: channels, to: target)
        return PNGImage(width: width, height: height, channels: target, pixels: out)
    }
}
