import Foundation

/// A folder of PNG images (a user's few-shot data) loaded as a `Dataset`.
///
/// Two layouts are understood:
/// - PNG files directly in the folder: unlabeled images (label -1), in sorted file-name order;
/// - no PNG files but subfolders holding them (torchvision's `ImageFolder`): one class per
///   subfolder, classes and files in sorted name order, labels the class indices.
/// Files whose names do not end in `.png` (any case) and hidden files are ignored.
public enum ImageFolder {
    /// How images of another size are treated.
    public enum Resize: Sendable {
        /// Images must already have the requested size; another size is an error naming the file.
        case none
        /// Images are resized by nearest neighbour (`PNGImage.resizedNearest`, as PIL's NEAREST).
        case nearest
    }

    /// Loads the images in `directory` as `[N, channels, height, width]` (served as pixels / 255), converted
    /// to `channels` (1: ITU-R 601 luma as PIL's `convert("L")`; 3: RGB; alpha is dropped).
    public static func load(_ directory: URL, channels: Int, size: (height: Int, width: Int),
                            resize: Resize = .none) throws -> Dataset {
        guard channels == 1 || channels == 3 else {
            throw DataError(path: directory.path, reason: "images can be loaded with 1 or 3 channels, not \(channels)")
        }
        guard size.height > 0, size.width > 0 else {
            throw DataError(path: directory.path, reason: "the image size \(size.height)x\(size.width) is not positive")
        }
        let (top, others) = try listing(directory)
        var files: [(URL, Int)] = top.map { ($0, -1) }
        var classNames: [String] = []
        if files.isEmpty {
            for sub in others {
                guard let (pngs, _) = try? listing(sub), !pngs.isEmpty else { continue }  // files, empty folders
                files += pngs.map { ($0, classNames.count) }
                classNames.append(sub.lastPathComponent)
            }
        }
        guard !files.isEmpty else {
            let seen = others.prefix(5).map(\.lastPathComponent).joined(separator: ", ")
            throw DataError(path: directory.path, reason: "has no PNG files (nor class subfolders holding them)"
                + (others.isEmpty ? "; the folder is empty" : "; found \(others.count) other entries: \(seen)\(others.count > 5 ? ", ..." : "")"))
        }
        let (h, w) = size
        let plane = h * w
        var pixels = [UInt8](repeating: 0, count: files.count * channels * plane)
        for (k, (url, _)) in files.enumerated() {
            var image = try PNG.read(url)
            if image.height != h || image.width != w {
                guard resize == .nearest else {
                    throw DataError(path: url.path, reason: "is \(image.height)x\(image.width) (height x width), but the model takes \(h)x\(w); resize it to \(h)x\(w) first")
                }
                image = image.resizedNearest(height: h, width: w)
            }
            image = image.converted(toChannels: channels)
            let base = k * channels * plane
            for i in 0..<plane { for c in 0..<channels { pixels[base + c * plane + i] = image.pixels[i * channels + c] } }
        }
        return Dataset(pixels: pixels, shape: [files.count, channels, h, w], labels: files.map(\.1), classNames: classNames)
    }

    /// The sorted PNG files of `directory` and its other (non-hidden) entries, sorted.
    static func listing(_ directory: URL) throws -> (pngs: [URL], others: [URL]) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw DataError(path: directory.path, reason: "no such folder")
        }
        guard isDirectory.boolValue else { throw DataError(path: directory.path, reason: "is a file, not a folder of PNG images") }
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw DataError(path: directory.path, reason: "cannot be listed (\(error.localizedDescription))")
        }
        let visible = names.filter { !$0.hasPrefix(".") }.sorted()
        let pngs = visible.filter { $0.lowercased().hasSuffix(".png") }
        return (pngs.map { directory.appendingPathComponent($0) },
                visible.filter { !$0.lowercased().hasSuffix(".png") }.map { directory.appendingPathComponent($0) })
    }
}
