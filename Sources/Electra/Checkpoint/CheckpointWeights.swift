import ElectraKernels
import Foundation

/// The tensors of a checkpoint folder or file in any supported format, addressed by HF name.
/// Keys are matched with or without the `electra.` prefix, so a base-model checkpoint loads
/// into a head class and the other way round, as in HF.
public final class CheckpointWeights: Sendable {
    /// Lookup key (name without `electra.`) -> (source, name as the source lists it).
    private let index: [String: (source: any TensorSource, stored: String)]
    public let description: String
    public let sources: [any TensorSource]
    /// Names stored in the files that carry no weight (HF buffers), skipped silently.
    static let ignoredSuffixes = ["embeddings.position_ids"]

    public static func lookupKey(_ name: String) -> String {
        name.hasPrefix("electra.") ? String(name.dropFirst("electra.".count)) : name
    }

    public init(sources: [any TensorSource], description: String) throws {
        self.description = description
        self.sources = sources
        var index: [String: (source: any TensorSource, stored: String)] = [:]
        for f in sources {
            for n in f.tensorNames {
                let key = Self.lookupKey(n)
                if let prev = index[key] {
                    throw ElectraError("tensor '\(n)' appears twice (in \(prev.source.url.lastPathComponent) and \(f.url.lastPathComponent))")
                }
                index[key] = (f, n)
            }
        }
        self.index = index
    }

    /// Opens a checkpoint file or folder of any supported format (see `CheckpointFormats`).
    public static func open(_ url: URL) throws -> CheckpointWeights {
        try CheckpointFormats.open(url)
    }

    public var storedNames: [String] { index.values.map(\.stored).sorted() }

    /// Format names of the files, e.g. "safetensors" or "pytorch".
    public var formatSummary: String { Set(sources.map(\.formatName)).sorted().joined(separator: ", ") }

    /// "F32 (201 tensors)" or "F16 (150), F32 (2)".
    public var dtypeSummary: String {
        var counts: [String: Int] = [:]
        for (source, stored) in index.values { counts[source.info(stored)!.dtype.rawValue, default: 0] += 1 }
        return counts.sorted { $0.key < $1.key }.map { "\($0.key) (\($0.value) tensors)" }.joined(separator: ", ")
    }

    public func contains(_ name: String) -> Bool { index[Self.lookupKey(name)] != nil }

    public func storedName(_ name: String) -> String? { index[Self.lookupKey(name)]?.stored }

    public func info(_ name: String) -> StoredTensorInfo? {
        guard let (source, stored) = index[Self.lookupKey(name)] else { return nil }
        return source.info(stored)
    }

    /// The fp32 tensor for a name as the sources list it (no shape check).
    public func tensor(_ name: String) throws -> Tensor? {
        guard let (source, stored) = index[Self.lookupKey(name)] else { return nil }
        return try source.floatTensor(stored)
    }

    /// The fp32 tensor for an HF name, shape-checked.
    public func tensor(_ name: String, expectedShape: [Int]) throws -> Tensor? {
        guard let (source, stored) = index[Self.lookupKey(name)] else { return nil }
        let shape = source.info(stored)!.shape
        if shape != expectedShape {
            throw ElectraError("\(source.url.lastPathComponent): tensor '\(stored)' has shape \(shapeString(shape)) but the model (from config.json) expects \(shapeString(expectedShape))")
        }
        return try source.floatTensor(stored)
    }

    static func isIgnored(_ stored: String) -> Bool {
        ignoredSuffixes.contains { stored.hasSuffix($0) }
    }
}
