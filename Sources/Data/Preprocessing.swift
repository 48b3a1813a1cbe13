/// torchvision's evaluation preprocessing of one image, as a value shared by evaluation and calibration:
/// `convert("RGB")` (and `Grayscale()` for 1-channel models), `Resize(resize)`, `CenterCrop(crop)`,
/// `ToTensor()`, `Normalize(mean, std)`. Without `resize` and `crop`, images must already have the model's size.
public struct Preprocessing: Sendable, Equatable {
    /// The model's input channels: 1 (gray, PIL's `convert("L")`) or 3 (RGB).
    public var channels: Int
    /// The model's input height and width.
    public var size: Int
    /// Shorter side resized to this many pixels (bilinear with antialiasing, as PIL), or nil.
    public var resize: Int?
    /// Center crop to this square size (zero-padded when larger, as torchvision), or nil.
    public var crop: Int?
    /// The per-channel normalization applied last.
    public var normalization: Normalization

    /// A pipeline for a model taking `channels` x `size` x `size` inputs.
    public init(channels: Int, size: Int, resize: Int? = nil, crop: Int? = nil, normalization: Normalization) {
        self.channels = channels
        self.size = size
        self.resize = resize
        self.crop = crop
        self.normalization = normalization
    }

    /// Throws a `PreprocessingError` naming the setting if they cannot work: channels other than 1 or 3, sizes
    /// not positive, a crop that does not give the model's size, normalization of the wrong length.
    public func validated() throws -> Preprocessing {
        func fail(_ setting: PreprocessingError.Setting, _ reason: String) -> PreprocessingError { PreprocessingError(setting: setting, reason: reason) }
        guard channels == 1 || channels == 3 else { throw fail(.channels, "images can be read with 1 or 3 channels, not \(channels)") }
        guard size > 0 else { throw fail(.size, "must be positive, got \(size)") }
        if let resize, resize <= 0 { throw fail(.resize, "must be positive, got \(resize)") }
        if let crop, crop != size { throw fail(.crop, "\(crop) does not give the model's input size \(size)") }
        guard normalization.mean.count == channels, normalization.std.count == channels,
              normalization.std.allSatisfy({ $0 > 0 && $0.isFinite }) else {
            throw fail(.normalization, "need \(channels) value(s) each (stds positive), got mean \(normalization.mean), std \(normalization.std)")
        }
        return self
    }

    /// `image` converted, resized, cropped: 8-bit pixels of the model's size, channels interleaved.
    /// An image of another size throws an `ImageSizeError` naming `path`.
    public func pixels(_ image: PNGImage, path: String) throws -> PNGImage {
        var image = image.converted(toChannels: 3)
        if channels == 1 { image = image.converted(toChannels: 1) }
        if let resize {
            let (h, w) = (image.height, image.width)
            // torchvision: the longer side becomes int(resize * long / short), truncated.
            let long = Int(Double(resize * max(h, w)) / Double(min(h, w)))
            image = h <= w ? image.resizedBilinear(height: resize, width: long) : image.resizedBilinear(height: long, width: resize)
        }
        if let crop { image = image.centerCropped(crop) }
        guard image.height == size, image.width == size else {
            throw ImageSizeError(path: path, height: image.height, width: image.width, size: size,
                                 unprocessed: resize == nil && crop == nil)
        }
        return image
    }

    /// `image` (of the model's size, `channels` interleaved) as normalized planar floats (`channels * size * size`
    /// values): `(pixel / 255 - mean[c]) / std[c]`.
    public func normalized(_ image: PNGImage) -> [Float] {
        let plane = size * size
        var out = [Float](repeating: 0, count: channels * plane)
        for c in 0..<channels {
            let mean = normalization.mean[c], std = normalization.std[c]
            for i in 0..<plane { out[c * plane + i] = (Float(image.pixels[i * channels + c]) / 255 - mean) / std }
        }
        return out
    }
}

/// Preprocessing settings that cannot work together.
public struct PreprocessingError: Error, CustomStringConvertible, Sendable {
    /// The settings of `Preprocessing` that can be wrong.
    public enum Setting: String, Sendable {
        case channels, size, resize, crop, normalization
    }

    /// The setting at fault.
    public let setting: Setting
    /// What is wrong, as a fragment that follows the setting's name.
    public let reason: String
    public var description: String { "\(setting.rawValue): \(reason)" }
}

/// An image that preprocessing does not bring to the model's input size: a configuration error (the resize and
/// crop are missing or wrong), not one bad file.
public struct ImageSizeError: Error, CustomStringConvertible, Sendable {
    /// The image file.
    public let path: String
    /// The image's size after preprocessing, and the model's.
    public let height: Int, width: Int, size: Int
    /// Whether the preprocessing had neither a resize nor a crop (adding them is the fix).
    public let unprocessed: Bool

    /// What is wrong, without a fix.
    public var fact: String { "\(path): is \(height)x\(width) (height x width) after preprocessing, but the model takes \(size)x\(size)" }
    /// The resize a fix can use with a center crop of `size` (torchvision's 256/224 ratio).
    public var suggestedResize: Int { size * 8 / 7 }
    public var description: String {
        fact + (unprocessed ? "; set a resize and a crop (e.g. resize \(suggestedResize), crop \(size)) or resize the files" : "")
    }
}
