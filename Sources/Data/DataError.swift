/// A data file or folder that cannot be read: `path` names it, `reason` says what is wrong.
///
/// Every reader in this module reports bad input with this error (never a crash), so a user who points
/// the toolkit at a broken file learns which file and why.
public struct DataError: Error, CustomStringConvertible, Sendable {
    /// The file or folder at fault (`<memory>` for bytes not read from a file).
    public let path: String
    /// What is wrong, as a sentence fragment that follows the path.
    public let reason: String

    /// An error about `path`.
    public init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
