import Foundation
import Tensors

/// The image files of a folder, listed as torchvision's `ImageFolder` lists them: one subfolder per class,
/// classes in sorted name order giving the label indices, files at any depth below a class folder whose
/// names end in one of `ImageFile.extensions` (any case), sorted by path. A folder with no subfolders but
/// image files of its own is read as unlabeled images (label -1), for few-shot calibration.
///
/// Only the paths are held; images are read when asked for (`load`, `FolderBatches`).
public struct ImageFolder: Sendable {
    /// The folder listed.
    public let root: URL
    /// Every image file, class by class.
    public let files: [URL]
    /// The class index of each file (-1 when unlabeled).
    public let labels: [Int]
    /// The class names, indexed by label (empty when unlabeled).
    public let classNames: [String]

    /// Lists `directory`. Throws an error naming it if it is missing, empty, or holds no images, and naming
    /// the class folder that holds none (torchvision refuses these too).
    public init(_ directory: URL) throws {
        root = directory
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw DataError(path: directory.path, reason: "no such folder")
        }
        guard isDirectory.boolValue else { throw DataError(path: directory.path, reason: "is a file, not a folder of images") }
        let entries = try Self.entries(directory)
        let classes = entries.filter(\.isDirectory).map(\.url)
        if classes.isEmpty {
            files = entries.filter { !$0.isDirectory && ImageFile.isImageName($0.url.lastPathComponent) }.map(\.url)
            guard !files.isEmpty else {
                let seen = entries.prefix(5).map(\.url.lastPathComponent).joined(separator: ", ")
                throw DataError(path: directory.path, reason: "holds no class folders and no image files (\(ImageFile.extensions.joined(separator: " ")))"
                    + (entries.isEmpty ? "; the folder is empty" : "; found \(entries.count) other entries: \(seen)\(entries.count > 5 ? ", ..." : "")"))
            }
            labels = Array(repeating: -1, count: files.count)
            classNames = []
            return
        }
        var files: [URL] = [], labels: [Int] = []
        for (label, folder) in classes.enumerated() {
            let found = try Self.images(below: folder)
            guard !found.isEmpty else {
                throw DataError(path: folder.path, reason: "class folder \(label) holds no image files (\(ImageFile.extensions.joined(separator: " "))); remove it or add images, since class indices follow the sorted folder names")
            }
            files += found
            labels += Array(repeating: label, count: found.count)
        }
        self.files = files
        self.labels = labels
        classNames = classes.map(\.lastPathComponent)
    }

    /// The number of image files.
    public var count: Int { files.count }

    /// The positions of `n` distinct files drawn uniformly at random (reproducibly from `seed`), in draw
    /// order, as `Dataset.randomSubset` draws images: the same seed picks the same indices.
    public func randomIndices(count n: Int, seed: UInt64) throws -> [Int] {
        guard (1...count).contains(n) else {
            throw DataError(path: root.path, reason: "holds \(count) images; cannot draw \(n)")
        }
        return randomDraw(n, of: count, seed: seed)
    }

    /// The files at `indices` read and preprocessed into a data set in pixel scale (preprocessing's
    /// normalization is not applied: `Dataset` serves pixels / 255). Any unreadable file is an error naming it.
    public func load(_ indices: [Int]? = nil, preprocessing: Preprocessing) throws -> Dataset {
        let chosen = indices ?? Array(files.indices)
        let p = preprocessing, plane = p.size * p.size
        var pixels = [UInt8](repeating: 0, count: chosen.count * p.channels * plane)
        for (k, i) in chosen.enumerated() {
            let image = try p.pixels(ImageFile.read(files[i]), path: files[i].path)
            for j in 0..<plane { for c in 0..<p.channels { pixels[(k * p.channels + c) * plane + j] = image.pixels[j * p.channels + c] } }
        }
        return Dataset(pixels: pixels, shape: [chosen.count, p.channels, p.size, p.size], labels: chosen.map { labels[$0] },
                       classNames: classNames)
    }

    /// The entries of `directory`, sorted by name, with whether each is a folder (links followed, as `os.walk(followlinks=True)`).
    static func entries(_ directory: URL) throws -> [(url: URL, isDirectory: Bool)] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw DataError(path: directory.path, reason: "cannot be listed (\(error.localizedDescription))")
        }
        return names.sorted().map { name in
            let url = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory)
            return (url, isDirectory.boolValue)
        }
    }

    /// The image files at any depth below `folder`, ordered as torchvision's `sorted(os.walk(folder))`: by
    /// folder path, then by file name.
    static func images(below folder: URL) throws -> [URL] {
        var byFolder: [(String, [URL])] = []
        var pending = [folder]
        while let current = pending.popLast() {
            let entries = try entries(current)
            byFolder.append((current.path, entries.filter { !$0.isDirectory && ImageFile.isImageName($0.url.lastPathComponent) }.map(\.url)))
            pending += entries.filter(\.isDirectory).map(\.url)
        }
        return byFolder.sorted { $0.0 < $1.0 }.flatMap(\.1)
    }
}
