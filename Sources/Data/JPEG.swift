import CTurboJPEG

/// JPEG files, decoded by libjpeg-turbo's TurboJPEG API with the settings PIL uses (accurate integer
/// IDCT, fancy upsampling), so pixels equal PIL's `Image.open(f)` on the same library.
public enum JPEG {
    /// Whether `bytes` start like a JPEG file (the SOI marker `FF D8 FF`).
    public static func sniff(_ bytes: [UInt8]) -> Bool {
        bytes.count >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF
    }

    /// Decodes a baseline or progressive JPEG to 1 channel (grayscale files) or 3 (RGB; CMYK and YCCK
    /// files converted as PIL's `convert("RGB")`). Corrupt, truncated or oversized files throw an error naming `path`.
    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws -> PNGImage {
        func fail(_ reason: String) -> DataError { DataError(path: path, reason: "JPEG file \(reason)") }
        guard sniff(bytes) else { throw fail("is not a JPEG: the start-of-image marker FF D8 FF is missing") }
        guard let handle = tjInitDecompress() else { throw fail("cannot be decoded: TurboJPEG failed to start") }
        defer { tjDestroy(handle) }
        func libraryMessage() -> String { String(cString: tjGetErrorStr2(handle)) }
        var width: Int32 = 0, height: Int32 = 0, subsampling: Int32 = 0, colorspace: Int32 = 0
        guard tjDecompressHeader3(handle, bytes, UInt(bytes.count), &width, &height, &subsampling, &colorspace) == 0 else {
            throw fail("is corrupt: \(libraryMessage())")
        }
        let cmyk = colorspace == Int32(TJCS_CMYK.rawValue) || colorspace == Int32(TJCS_YCCK.rawValue)
        let gray = colorspace == Int32(TJCS_GRAY.rawValue)
        let channels = cmyk ? 4 : gray ? 1 : 3
        guard width > 0, height > 0, Int(width) * Int(height) * channels <= PNG.maxImageBytes else {
            throw fail("is \(width)x\(height), too large to decode (limit \(PNG.maxImageBytes) bytes)")
        }
        let format = cmyk ? TJPF_CMYK : gray ? TJPF_GRAY : TJPF_RGB
        var pixels = [UInt8](repeating: 0, count: Int(width) * Int(height) * channels)
        let status = tjDecompress2(handle, bytes, UInt(bytes.count), &pixels, width, 0, height, format.rawValue, 0)
        if status != 0 {
            let message = libraryMessage()
            // Warnings (e.g. extraneous bytes) leave a complete image, as PIL accepts it; a premature end does not.
            if tjGetErrorCode(handle) != Int32(TJERR_WARNING.rawValue) || message.contains("Premature end") {
                throw fail(message.contains("Premature end") ? "is truncated (\(message))" : "is corrupt: \(message)")
            }
        }
        guard cmyk else { return PNGImage(width: Int(width), height: Int(height), channels: channels, pixels: pixels) }
        return PNGImage(width: Int(width), height: Int(height), channels: 3, pixels: rgb(fromInvertedCMYK: pixels))
    }

    /// RGB from libjpeg's CMYK samples, which Adobe-convention files (PIL assumes them all) store inverted:
    /// PIL reads them as "CMYK;I", then `convert("RGB")` computes `nk - c * nk / 255` per channel with
    /// `nk = 255 - k` and its MULDIV255 rounding.
    static func rgb(fromInvertedCMYK samples: [UInt8]) -> [UInt8] {
        let n = samples.count / 4
        var out = [UInt8](repeating: 0, count: n * 3)
        for i in 0..<n {
            let nk = Int(samples[4 * i + 3])  // 255 - k, with k = 255 - stored
            for c in 0..<3 {
                let tmp = (255 - Int(samples[4 * i + c])) * nk + 128
                out[3 * i + c] = UInt8(clamping: nk - (((tmp >> 8) + tmp) >> 8))
            }
        }
        return out
    }
}
