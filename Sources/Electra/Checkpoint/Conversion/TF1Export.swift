import Foundation

/// Exports one tower of a Google Research TF1 checkpoint as an HF model, as HF's
/// `convert_electra_original_tf_checkpoint_to_pytorch.py` does, but strict: every weight of
/// the HF class must come from the checkpoint and every checkpoint variable must be used,
/// skipped as optimizer state or bookkeeping, or belong to the other tower.
public enum TF1Export {
    public struct Report: Sendable {
        public var tower: ElectraTower
        public var converted: Int
        public var optimizerSlots: Int
        public var bookkeeping: [String]
        public var otherTower: Int
        public var summary: String {
            "converted \(converted) tensors of the \(tower.rawValue); skipped \(optimizerSlots) Adam slots (adam_m/adam_v), "
                + "\(otherTower) variables of the other tower, \(bookkeeping.count) bookkeeping (\(bookkeeping.joined(separator: ", ")))"
        }
    }

    /// The HF-named view of a TF1 checkpoint for one tower, and what was skipped.
    public static func view(_ checkpoint: any TensorSource, tower: ElectraTower) -> (view: RenamedTensorSource, report: Report) {
        var report = Report(tower: tower, converted: 0, optimizerSlots: 0, bookkeeping: [], otherTower: 0)
        var entries: [String: RenamedTensorSource.Entry] = [:]
        var fromOwnScope: Set<String> = []
        for stored in checkpoint.tensorNames {
            switch TF1Names.map(stored, tower: tower) {
            case .skipped(.optimizerSlot): report.optimizerSlots += 1
            case .skipped(.bookkeeping): report.bookkeeping.append(stored)
            case .skipped(.otherTower): report.otherTower += 1
            case .weight(let m):
                // A generator with untied embeddings has its own generator/embeddings; HF's
                // converter lets them override the shared electra/embeddings.
                let own = tower == .generator && stored.hasPrefix("generator/")
                if entries[m.name] != nil, !own || fromOwnScope.contains(m.name) { continue }
                if own { fromOwnScope.insert(m.name) }
                entries[m.name] = .init(stored: stored, transpose: m.transpose && checkpoint.info(stored)?.shape.count == 2)
            }
        }
        report.converted = entries.count
        return (RenamedTensorSource(checkpoint, entries: entries), report)
    }

    /// Loads the tower into its HF class, checking that the checkpoint and config agree.
    public static func load(
        _ checkpoint: any TensorSource, config: ElectraConfig, tower: ElectraTower
    ) throws -> (model: any ElectraHeadModel, report: Report) {
        let (view, report) = view(checkpoint, tower: tower)
        let weights = try CheckpointWeights(sources: [view], description: checkpoint.url.path)
        let (model, load) = try tower.modelType.load(config: config, weights: weights, seed: 0)
        if !load.missing.isEmpty || !load.unexpected.isEmpty {
            let leftover = load.unexpected.map { name in "\(name) (from \(view.entries[name]?.stored ?? name))" }
            throw ElectraError(
                "\(checkpoint.url.lastPathComponent): the \(tower.rawValue) variables do not match the config "
                    + "(\(config.numHiddenLayers) layers, hidden \(config.hiddenSize), embedding \(config.embeddingSize)). "
                    + "Missing: \(load.missing.isEmpty ? "none" : load.missing.joined(separator: ", ")). "
                    + "Left over: \(leftover.isEmpty ? "none" : leftover.joined(separator: ", ")).")
        }
        return (model, report)
    }

    /// Writes config.json (with `architectures` naming the tower's class) and model.safetensors.
    public static func export(
        _ checkpoint: any TensorSource, config: ElectraConfig, tower: ElectraTower, to directory: URL
    ) throws -> Report {
        let (model, report) = try load(checkpoint, config: config, tower: tower)
        try model.save(to: directory)
        return report
    }
}
