import Foundation
import Tensors

extension PNG {
    /// Encodes `image` and writes it atomically (`AtomicFile`) to `url`.
    public static func write(_ image: PNGImage, to url: URL) throws {
        do { try AtomicFile.write(encode(image), to: url) } catch let error as AtomicFileError {
            throw DataError(path: url.path, reason: "PNG file \(error.reason)")
        }
    }
}
