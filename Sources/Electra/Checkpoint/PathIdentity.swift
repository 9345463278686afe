import Foundation

/// Where a path really leads, for the guards that keep an output off a user's inputs: the
/// same place by any spelling (`..`, `./`) or symbolic link compares equal.
extension URL {
    /// The path's components once standardized and its links resolved.
    public var resolvedPathComponents: [String] { standardizedFileURL.resolvingSymlinksInPath().pathComponents }

    /// Whether this path is `folder` or lies anywhere under it.
    public func isSameOrInside(_ folder: URL) -> Bool {
        let path = resolvedPathComponents, root = folder.resolvedPathComponents
        return path.count >= root.count && Array(path.prefix(root.count)) == root
    }
}
