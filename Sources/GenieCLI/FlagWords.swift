import ArgumentParser
import Data
import Genie
import Models

/// A library error about a setting, reworded to name the flag that gave it; other errors as they are.
/// (The library names settings by their own names: `num_classes`, `crop`; the command's users know flags.)
func inFlagWords(_ error: Error) -> Error {
    switch error {
    case ModelLoadError.noSuchFile(let path):
        return GenieError("--weights: no such file '\(path)'")
    case let error as RunFolderError:
        return GenieError("--out '\(error.path)': \(error.reason)")
    case let error as BitWidthPlanError:
        return ValidationError("--bits: \(error)")
    case ModelLoadError.architectureForGraph(let path):
        return ValidationError("--arch: '\(path)' is an ONNX file, whose graph defines the network; drop --arch")
    case ModelLoadError.noNormalization(let path, let channels):
        return GenieError("'\(path)' takes \(channels)-channel images: pass --mean and --std, one value per channel (ONNX files record no preprocessing)")
    case ModelLoadError.noArchitecture(let path):
        return GenieError("--weights '\(path)' records no architecture; pass --arch (one of \(ModelSpec.architectures.joined(separator: ", ")))")
    case let error as ModelSpecError:
        return GenieError("--\(error.key.replacingOccurrences(of: "_", with: "-")) \(error.reason)")
    case let error as PreprocessingError:
        let flags: [PreprocessingError.Setting: String] = [
            .channels: "--in-channels", .size: "--image-size", .resize: "--resize", .crop: "--crop", .normalization: "--mean/--std"]
        return GenieError("\(flags[error.setting]!): \(error.reason)")
    case let error as ImageSizeError where error.unprocessed:
        return GenieError(error.fact + "; pass --resize and --crop (e.g. --resize \(error.suggestedResize) --crop \(error.size)) or resize the files")
    default:
        return error
    }
}
