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
        let n = width * height, c = channels
        var out = [UInt8](repeating: 0, count: n * target)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for i in 0..<n {
                    let p = src.baseAddress! + i &* c
                    if c >= 3 {  // RGB or RGBA
                        if target == 1 {
                            let luma = (19595 &* Int(p[0]) &+ 38470 &* Int(p[1]) &+ 7471 &* Int(p[2]) &+ 0x8000) >> 16
                            dst[i] = UInt8(truncatingIfNeeded: luma)
                        } else {
                            dst[3 &* i] = p[0]; dst[3 &* i &+ 1] = p[1]; dst[3 &* i &+ 2] = p[2]
                        }
                    } else {  // gray or gray + alpha
                        for k in 0..<target { dst[target &* i &+ k] = p[0] }
                    }
                }
            }
        }
        return PNGImage(width: width, height: height, channels: target, pixels: out)
    }
}
