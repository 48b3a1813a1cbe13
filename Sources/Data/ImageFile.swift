import Foundation

/// Image files of any supported type (JPEG, PNG), recognized by their first bytes as PIL does, not by name.
public enum ImageFile {
    /// The file-name endings torchvision's `ImageFolder` accepts (`IMG_EXTENSIONS`), compared lowercased.
    public static let extensions = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"]

    /// Whether torchvision's `ImageFolder` would list a file of this name.
    public static func isImageName(_ name: String) -> Bool {
        let lower = name.lowercased()
        return extensions.contains { lower.hasSuffix($0) }
    }

    /// Reads and decodes the JPEG or PNG file at `url`; other types and broken files throw an error naming it.
    public static func read(_ url: URL) throws -> PNGImage {
        try decode(readFile(url), path: url.path)
    }

    /// Decodes JPEG or PNG bytes (1 to 4 interleaved channels); `path` names them in errors.
    public static func decode(_ bytes: [UInt8], path: String = "<memory>") throws -> PNGImage {
        if JPEG.sniff(bytes) { return try JPEG.decode(bytes, path: path) }
        if bytes.starts(with: PNG.signature) { return try PNG.decode(bytes, path: path) }
        let known: [(String, [UInt8])] = [("BMP", [0x42, 0x4D]), ("TIFF", [0x49, 0x49, 0x2A, 0x00]), ("TIFF", [0x4D, 0x4D, 0x00, 0x2A]),
                                          ("WebP", Array("RIFF".utf8)), ("GIF", Array("GIF8".utf8)),
                                          ("PPM/PGM", Array("P5".utf8)), ("PPM/PGM", Array("P6".utf8))]
        let type = known.first { bytes.starts(with: $0.1) }.map { "is a \($0.0) file" } ?? (bytes.isEmpty ? "is empty" : "is of an unknown type")
        throw DataError(path: path, reason: "\(type); only JPEG and PNG images can be read")
    }
}
