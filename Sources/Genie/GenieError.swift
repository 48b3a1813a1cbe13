/// A user-facing error of the toolkit; the message names the file, flag, unit or tensor concerned.
public struct GenieError: Error, CustomStringConvertible {
    public let description: String
    public init(_ message: String) { description = message }
}
