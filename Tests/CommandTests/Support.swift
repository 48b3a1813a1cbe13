import Foundation
import Testing
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// The repository root and the committed benchmark model.
let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()
let resnet20 = repository.appendingPathComponent("models/resnet20.safetensors").path

/// The `genie` executable SwiftPM built beside this test bundle (`.build/<config>/genie`).
let genieExecutable: URL = {
    let bundle = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    let candidates = [bundle] + ["release", "debug"].map { repository.appendingPathComponent(".build/\($0)") }
    let found = candidates.map { $0.appendingPathComponent("genie") }
        .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    return found ?? bundle.appendingPathComponent("genie")
}()

/// What a finished `genie` run left: its exit status and its two output streams.
struct Outcome: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// A `genie` process with `arguments`, run in `folder` (its outputs go to `folder/.stdout` and `.stderr`).
func startGenie(_ arguments: [String], in folder: URL, environment: [String: String] = [:]) throws -> Process {
    guard FileManager.default.isExecutableFile(atPath: genieExecutable.path) else {
        throw TestFailure("no genie executable at \(genieExecutable.path): build it first (swift build)")
    }
    let process = Process()
    process.executableURL = genieExecutable
    process.arguments = arguments
    process.currentDirectoryURL = folder
    // PASSIVE: no restart of the process and no spinning workers competing with the parallel tests.
    process.environment = ProcessInfo.processInfo.environment.merging(["OMP_WAIT_POLICY": "PASSIVE"]) { $1 }
        .merging(environment) { $1 }
    func output(_ name: String) throws -> FileHandle {
        let url = folder.appendingPathComponent(name)
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        return try FileHandle(forWritingTo: url)
    }
    process.standardOutput = try output(".stdout")
    process.standardError = try output(".stderr")
    try process.run()
    return process
}

/// The outcome of a finished process started by `startGenie` in `folder`.
func outcome(of process: Process, in folder: URL) -> Outcome {
    process.waitUntilExit()
    let read = { (name: String) in (try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)) ?? "" }
    return Outcome(status: process.terminationStatus, stdout: read(".stdout"), stderr: read(".stderr"))
}

/// Runs `genie arguments` in `folder` to the end.
func genie(_ arguments: [String], in folder: URL, environment: [String: String] = [:]) throws -> Outcome {
    outcome(of: try startGenie(arguments, in: folder, environment: environment), in: folder)
}

/// Runs `genie arguments` in `folder` and kills it with SIGKILL as soon as `file` (relative to `folder`) appears.
/// Returns whether it was killed (false: it ended first).
func genieKilled(_ arguments: [String], in folder: URL, when file: String, environment: [String: String] = [:]) throws -> Bool {
    let process = try startGenie(arguments, in: folder, environment: environment)
    let path = folder.appendingPathComponent(file).path
    while process.isRunning && !FileManager.default.fileExists(atPath: path) { usleep(2000) }
    guard process.isRunning else { return false }
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    return process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL
}

/// A fresh empty folder under the system's temporary folder.
func temporaryFolder() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("genie-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A test precondition that failed.
struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A safetensors file from a raw header (JSON text) and data bytes, for malformed files.
func rawSafeTensors(_ header: String, data: [UInt8] = []) -> [UInt8] {
    let json = Array(header.utf8)
    return (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * UInt64($0))) } + json + data
}

/// The committed ResNet-20 with `edit` applied to its tensors, written to `folder/name`; returns the path.
func editedResNet20(_ name: String, in folder: URL, _ edit: (inout SafeTensors) throws -> Void) throws -> String {
    var file = try SafeTensors(contentsOf: URL(fileURLWithPath: resnet20))
    try edit(&file)
    let url = folder.appendingPathComponent(name)
    try file.write(to: url)
    return url.path
}

extension SafeTensors {
    /// Replaces the F32 value at flat `index` of tensor `name`.
    mutating func setValue(_ value: Float, of name: String, at index: Int) {
        var scalars = entries[name]!.floats
        scalars[index] = value
        set(name, Tensor(shape: entries[name]!.shape, scalars: scalars))
    }
}
