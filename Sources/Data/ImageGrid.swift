import Foundation
import Tensors

/// A PNG contact sheet of images `[N, C, H, W]` (C = 1 or 3), laid out as torchvision's
/// `make_grid(images, nrow: columns, padding: border, pad_value: borderValue)` + `save_image`.
public enum ImageGrid {
    /// How values become 0...255.
    public enum Scaling: Sendable {
        /// Clamp to [0, 1] (after undoing the normalization), then scale by 255.
        case clamp
        /// Map the grid's minimum and maximum to 0 and 1 (torchvision's `normalize=True`, one range
        /// for the whole grid), for images far outside [0, 1].
        case minMax
    }

    /// The grid image: `columns` images per row, `border` pixels of `borderValue` (in [0, 1]) around
    /// and between them. `normalization`, when given, is inverted first (`x * std + mean`).
    /// Samples are `floor(255 * v + 0.5)` as in `save_image`.
    public static func render(_ images: Tensor, normalization: Normalization? = nil, columns: Int = 8,
                              border: Int = 2, borderValue: Float = 0, scaling: Scaling = .clamp) throws -> PNGImage {
        guard images.rank == 4, images.shape[0] > 0, images.shape[1] == 1 || images.shape[1] == 3 else {
            throw DataError(path: "<ImageGrid>", reason: "needs images [N, C, H, W] with N > 0 and C = 1 or 3, got \(images.shape)")
        }
        guard columns >= 1, border >= 0 else {
            throw DataError(path: "<ImageGrid>", reason: "needs columns >= 1 and border >= 0, got \(columns) and \(border)")
        }
        let x = try (normalization?.invert(images.detached()) ?? images).converted(to: .plain)
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        var values = x.scalars
        if scaling == .minMax, let lo = values.min(), let hi = values.max() {
            let range = max(hi - lo, 1e-5)  // torchvision's norm_ip: clamp, then divide by max(hi - lo, 1e-5)
            values = values.map { ($0 - lo) / range }
        }
        func byte(_ v: Float) -> UInt8 { UInt8(min(max(v * 255 + 0.5, 0), 255).rounded(.down)) }
        let cols = min(columns, n), rows = (n + cols - 1) / cols
        let width = cols * (w + border) + border, height = rows * (h + border) + border
        var pixels = [UInt8](repeating: byte(borderValue), count: width * height * c)
        for i in 0..<n {
            let y0 = border + (i / cols) * (h + border), x0 = border + (i % cols) * (w + border)
            for ch in 0..<c {
                for y in 0..<h {
                    for xx in 0..<w {
                        pixels[((y0 + y) * width + x0 + xx) * c + ch] = byte(values[((i * c + ch) * h + y) * w + xx])
                    }
                }
            }
        }
        return PNGImage(width: width, height: height, channels: c, pixels: pixels)
    }

    /// Renders the grid (see `render`) and writes it as a PNG file to `url`.
    public static func write(_ images: Tensor, to url: URL, normalization: Normalization? = nil, columns: Int = 8,
                             border: Int = 2, borderValue: Float = 0, scaling: Scaling = .clamp) throws {
        let grid = try render(images, normalization: normalization, columns: columns, border: border,
                              borderValue: borderValue, scaling: scaling)
        try PNG.write(grid, to: url)
    }
}
