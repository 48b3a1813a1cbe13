import ArgumentParser
import Foundation
import Genie
import Models
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// Fails before any long work if the file `path` (given by `flag`) cannot be written: its folder must exist and
/// accept a new file, and `path` must not be a folder.
func checkWritable(_ path: String, flag: String) throws {
    let url = URL(fileURLWithPath: path)
    let folder = url.deletingLastPathComponent()
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: folder.path, isDirectory: &isDirectory), isDirectory.boolValue else {
        throw GenieError("\(flag) '\(path)': the folder '\(folder.path)' does not exist (or is not a folder)")
    }
    if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
        throw GenieError("\(flag) '\(path)' is a folder; give a file name")
    }
    let probe = folder.appendingPathComponent("." + url.lastPathComponent + ".probe").path
    let fd = open(probe, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard fd >= 0 else {
        throw GenieError("\(flag) '\(path)': cannot write in '\(folder.path)' (\(String(cString: strerror(errno))))")
    }
    close(fd)
    unlink(probe)
}

/// Creates the folder `path` (given by `flag`) with its parents, or fails naming the flag.
func createFolder(_ path: String, flag: String) throws -> URL {
    let url = URL(fileURLWithPath: path)
    do { try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true) } catch {
        throw GenieError("\(flag) '\(path)': cannot create the folder (a file is in the way, or no permission)")
    }
    try checkWritable(url.appendingPathComponent("report.json").path, flag: flag)
    return url
}

/// Checks bit widths before any work.
func checkBits(weights: Int, activations: Int) throws {
    guard (2...8).contains(weights) else { throw ValidationError("--wbits must be in 2...8, got \(weights)") }
    guard (2...8).contains(activations) else { throw ValidationError("--abits must be in 2...8, got \(activations)") }
}

/// Checks that `count` calibration images (from `flag`) can be reconstructed on: GENIE-M uses slices of 32.
func checkCalibrationCount(_ count: Int, flag: String) throws {
    guard count >= 32, count % 32 == 0 else {
        throw GenieError("\(flag): \(count) calibration images, but GENIE-M needs a positive multiple of 32 (it reconstructs on slices of 32)")
    }
}

/// Checks calibration images from `flag` against the model: shape `[N, C, H, W]`, N a multiple of 32, finite.
func checkCalibration(_ images: Tensor, flag: String, spec: ModelSpec) throws -> Tensor {
    let expected = [spec.inChannels, spec.imageSize, spec.imageSize]
    guard images.rank == 4, Array(images.shape.dropFirst()) == expected else {
        throw GenieError("\(flag): the images have shape \(images.shape) but the model takes [N, \(expected.map(String.init).joined(separator: ", "))]")
    }
    try checkCalibrationCount(images.shape[0], flag: flag)
    guard images.scalars.allSatisfy(\.isFinite) else { throw GenieError("\(flag): the images contain NaN or infinite values") }
    return images
}
