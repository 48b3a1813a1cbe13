import Foundation

/// Fashion-MNIST (Zalando): 28x28 gray images of 10 clothing classes, 60000 for training and 10000
/// for testing, read from the IDX files of Debian's `dataset-fashion-mnist` package.
public enum FashionMNIST {
    /// Which half of the data set.
    public enum Split: String, Sendable {
        case train, test
        /// The file-name prefix (`train` or `t10k`).
        var prefix: String { self == .train ? "train" : "t10k" }
    }

    /// Where Debian's `dataset-fashion-mnist` installs the files, or the folder `$GENIE_FASHION_MNIST_DIR` names.
    public static var defaultDirectory: URL {
        URL(fileURLWithPath: ProcessInfo.processInfo.environment["GENIE_FASHION_MNIST_DIR"] ?? "/usr/share/datasets/fashion-mnist")
    }

    /// The class names, indexed by label (torchvision's `FashionMNIST.classes`).
    public static let classNames = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

    /// The normalization the project's models were trained with (on pixels / 255).
    public static let normalization = Normalization(mean: [0.2860], std: [0.3530])

    /// Loads a split: images `[N, 1, 28, 28]` served as pixels / 255, labels `0..<10`. Reads
    /// `<prefix>-images-idx3-ubyte[.gz]` and `<prefix>-labels-idx1-ubyte[.gz]` from `directory`.
    public static func load(split: Split, directory: URL = defaultDirectory) throws -> Dataset {
        let imagesFile = try locate("\(split.prefix)-images-idx3-ubyte", in: directory, split: split)
        let labelsFile = try locate("\(split.prefix)-labels-idx1-ubyte", in: directory, split: split)
        let images = try IDX.read(imagesFile), labels = try IDX.read(labelsFile)
        guard images.shape.count == 3, images.shape[1] == 28, images.shape[2] == 28 else {
            throw DataError(path: imagesFile.path, reason: "holds an array of shape \(images.shape), not Fashion-MNIST images [N, 28, 28]")
        }
        guard labels.shape.count == 1 else {
            throw DataError(path: labelsFile.path, reason: "holds an array of shape \(labels.shape), not labels [N]")
        }
        guard labels.shape[0] == images.shape[0] else {
            throw DataError(path: labelsFile.path, reason: "holds \(labels.shape[0]) labels but \(imagesFile.lastPathComponent) holds \(images.shape[0]) images")
        }
        if let bad = labels.bytes.firstIndex(where: { $0 >= classNames.count }) {
            throw DataError(path: labelsFile.path, reason: "label \(labels.bytes[bad]) at index \(bad) is not a class 0..<\(classNames.count)")
        }
        let n = images.shape[0]
        return Dataset(pixels: images.bytes, shape: [n, 1, 28, 28], labels: labels.bytes.map { Int($0) },
                       classNames: classNames)
    }

    /// The gzip-compressed file if present, else the uncompressed one, else an error naming both
    /// and the package that provides them.
    static func locate(_ name: String, in directory: URL, split: Split) throws -> URL {
        for candidate in [name + ".gz", name] {
            let url = directory.appendingPathComponent(candidate)
            if FileManager.default.fileExists(atPath: url.path) { return url }
        }
        throw DataError(path: directory.path, reason: "the Fashion-MNIST \(split.rawValue) files are missing (\(name).gz or \(name)); install it with: apt-get install dataset-fashion-mnist")
    }
}
