import Foundation
import Tensors
@testable import Data

/// The directory of committed fixtures (`Tests/Fixtures`).
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures")

/// A committed PNG fixture written by `scripts/fixtures_png.py`.
func pngFixture(_ name: String) -> URL {
    fixturesDirectory.appendingPathComponent("png").appendingPathComponent(name + ".png")
}

/// The expected pixels (`[H, W, C]` bytes) PIL decoded for a PNG fixture, by key (`rgb8.raw`, `rgb8.L`, ...).
func expectedPixels(_ key: String) throws -> (shape: [Int], bytes: [UInt8]) {
    let file = try SafeTensors(contentsOf: fixturesDirectory.appendingPathComponent("png_expected.safetensors"))
    guard let e = file.entries[key] else { throw DataError(path: "png_expected.safetensors", reason: "has no \(key)") }
    return (e.shape, e.bytes)
}

/// "accepted" if `body` returns, else the thrown error's description.
func outcome<T>(_ body: () throws -> T) -> String {
    do { _ = try body(); return "accepted" } catch { return "\(error)" }
}

/// A fresh empty temporary folder, removed by `body`'s end.
func withTemporaryDirectory<T>(_ body: (URL) throws -> T) throws -> T {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("DataTests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: url) }
    return try body(url)
}

/// Deterministic bytes for synthetic test images.
func testBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = SeededGenerator(seed: seed)
    return (0..<count).map { _ in UInt8(truncatingIfNeeded: rng.next() >> 56) }
}
