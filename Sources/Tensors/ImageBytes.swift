import Kernels

/// The image codecs' byte loops for Data, which does not see Kernels: each forwards to `ByteImageKernels` (raw
/// pointers, measured faster than bounds-checked arrays). Pixels are 8-bit samples, channels interleaved.
public enum ImageBytes {
    /// PNG's filters undone (`ByteImageKernels.unfilterPNG`): rows after a leading zero row, and the first row
    /// with a filter type past 4.
    public static func unfilterPNG(_ raw: [UInt8], height: Int, rowBytes: Int, filterStride: Int)
        -> (rows: [UInt8], bad: (row: Int, filter: UInt8)?) {
        ByteImageKernels.unfilterPNG(raw, height: height, rowBytes: rowBytes, filterStride: filterStride)
    }

    /// 8-bit samples from unfiltered PNG rows (`ByteImageKernels.expandPNG`): gray scaled when `palette` is empty,
    /// else palette entries (with `alpha`); the first index past the palette, if any.
    public static func expandPNG(_ rows: [UInt8], width: Int, height: Int, rowBytes: Int, bitDepth: Int,
                                 palette: [UInt8], alpha: [UInt8], channels: Int) -> (pixels: [UInt8], badIndex: Int?) {
        ByteImageKernels.expandPNG(rows, width: width, height: height, rowBytes: rowBytes, bitDepth: bitDepth,
                                   palette: palette, alpha: alpha, channels: channels)
    }

    /// `count` pixels converted from `channels` to `target` (1 or 3) channels as PIL converts them.
    public static func convertChannels(_ pixels: [UInt8], count: Int, from channels: Int, to target: Int) -> [UInt8] {
        ByteImageKernels.convertChannels(pixels, count: count, from: channels, to: target)
    }

    /// The fractional bits of resampling coefficients (PIL's 22).
    public static var resamplePrecisionBits: Int32 { ByteImageKernels.precisionBits }

    /// Each of `height` rows of `width` pixels resampled by fixed-point taps (PIL's): output `o` sums the inputs
    /// `bounds[o]` weighted by `coefficients[o * taps...]`, with `resamplePrecisionBits` fractional bits.
    public static func resampleRows(_ pixels: [UInt8], height: Int, width: Int, channels: Int, bounds: [(first: Int, count: Int)],
                                    coefficients: [Int32], taps: Int) -> [UInt8] {
        ByteImageKernels.resampleRows(pixels, height: height, width: width, channels: channels,
                                      .init(bounds: bounds, coefficients: coefficients, taps: taps))
    }

    /// Whole rows of `rowLength` samples resampled by the same taps, as `resampleRows` resamples pixels.
    public static func resampleColumns(_ pixels: [UInt8], rowLength: Int, bounds: [(first: Int, count: Int)],
                                       coefficients: [Int32], taps: Int) -> [UInt8] {
        ByteImageKernels.resampleColumns(pixels, rowLength: rowLength,
                                         .init(bounds: bounds, coefficients: coefficients, taps: taps))
    }
}
