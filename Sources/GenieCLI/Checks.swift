import ArgumentParser
import Foundation
import Genie
import NN
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

/// The bit-width flags `quantize` and `run` share.
struct BitWidthOptions: ParsableArguments {
    @Option(help: "Weight bits (2...8).") var wbits = 4
    @Option(help: "Activation bits (2...8).") var abits = 4
    @Option(help: "Per-layer bits overriding --wbits/--abits and the 8-bit first and last layers: 'NAME=W[/A],...' (a layer or unit name and all layers under it), or @FILE with one entry a line (docs/FORMAT.md).")
    var bits: String?

    /// Checks the bit widths before any work.
    func validate() throws {
        guard (2...8).contains(wbits) else { throw ValidationError("--wbits must be in 2...8, got \(wbits)") }
        guard (2...8).contains(abits) else { throw ValidationError("--abits must be in 2...8, got \(abits)") }
    }

    /// The `--bits` plan (text or @FILE), checked against `model` when given (else the library checks it once the
    /// model is loaded, before any work).
    func plan(model: Module? = nil, arch: String = "") throws -> BitWidthPlan {
        guard let bits else { return BitWidthPlan() }
        do {
            let plan = try BitWidthPlan(argument: bits)
            try model.map { try plan.validate(against: $0, arch: arch) }
            return plan
        } catch { throw ValidationError("--bits: \(error)") }
    }
}

/// Shows the unit report written beside the quantized model at `url` (unless `quiet`).
func showUnitReport(_ report: UnitReport, beside url: URL, quiet: Bool) {
    guard !quiet else { return }
    log(report.table)
    if let worst = report.worstUnit {
        log("report: \(unitReportFiles(beside: url).json.path) (plot: .svg); the error rises most at \(worst.path): give it more bits, e.g. --bits '\(worst.path)=\(min(8, 2 * report.weightBits))'")
    }
}
