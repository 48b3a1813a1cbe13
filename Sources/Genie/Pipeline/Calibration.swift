import Data
import Foundation
import Models
import Tensors

/// Where GENIE-M's calibration images come from.
public enum CalibrationSource: Sendable, Equatable {
    /// Zero-shot: a distilled-images file (`DistilledFile`).
    case distilled(URL)
    /// Few-shot: this many random Fashion-MNIST training images.
    case fashionMNIST(count: Int)
    /// Few-shot: the images of a folder (flat, or one subfolder per class), all of them or `count` drawn at
    /// random, read with torchvision's evaluation preprocessing (`resize`, then `crop`).
    case folder(URL, count: Int?, resize: Int? = nil, crop: Int? = nil)
    /// Baseline: this many standard-normal images.
    case noise(count: Int)

    /// The calibration images in `spec`'s normalized input space, drawn by `seed` where they are random.
    /// Errors begin with `label` (default: the file or folder, quoted, or the kind of images).
    public func images(for spec: ModelSpec, seed: UInt64, label: String? = nil) throws -> Tensor {
        let label = label ?? defaultLabel
        let normalization = Normalization(mean: spec.mean, std: spec.std)
        let images: Tensor
        switch self {
        case .distilled(let url):
            let file = try SafeTensors(contentsOf: url)
            guard let stored = try? file.tensor("images") else { throw GenieError("\(label) holds no 'images' tensor") }
            images = stored
        case .fashionMNIST(let count):
            try checkCalibrationCount(count, source: label)
            images = try normalization.apply(FashionMNIST.load(split: .train).randomSubset(count: count, seed: seed).images)
        case .folder(let url, let count, let resize, let crop):
            let folder = try ImageFolder(url)
            if let count { try checkCalibrationCount(count, source: label) }
            let indices = try count.map { try folder.randomIndices(count: $0, seed: seed) }
            let preprocessing = try Preprocessing(channels: spec.inChannels, size: spec.imageSize, resize: resize, crop: crop,
                                                  normalization: normalization).validated()
            images = try normalization.apply(folder.load(indices, preprocessing: preprocessing).images)
        case .noise(let count):
            try checkCalibrationCount(count, source: label)
            var rng = SeededGenerator(seed: seed)
            images = Tensor.randomNormal([count, spec.inChannels, spec.imageSize, spec.imageSize], using: &rng)
        }
        try checkCalibration(images, spec: spec, source: label)
        return images
    }

    private var defaultLabel: String {
        switch self {
        case .distilled(let url), .folder(let url, _, _, _): "'\(url.relativePath)'"
        case .fashionMNIST: "fashion-mnist training images"
        case .noise: "noise images"
        }
    }
}
