import Foundation
import Tensors

/// The directory of committed golden fixtures (`Tests/Fixtures`).
public let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("Fixtures")

/// The tensors of a committed fixture file, by name (fails the calling test with the path if unreadable).
public func fixture(_ name: String) throws -> [String: Tensor] {
    try SafeTensors.read(fixturesDirectory.appendingPathComponent(name))
}
