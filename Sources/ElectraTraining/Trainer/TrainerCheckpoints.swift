import Electra
import Foundation

/// What trainer_state.json records besides the weights and the optimizer state.
public struct TrainerState: Sendable {
    public var step = 0
    /// The dropout generator's state after `step` steps.
    public var dropoutRNG: [UInt64] = []
    public var optimizerKind = ""
    /// The settings and data facts a resumed run must share (TrainerOptions + the task's).
    public var run: [String: String] = [:]
    /// The best validation value of `metricForBest` so far and the checkpoint that had it.
    public var bestMetric: Double?
    public var bestCheckpoint: String?
    /// Validations in a row that did not improve on `bestMetric` (early stopping).
    public var evalsWithoutImprovement = 0
    /// The task's generator states (TrainingTask.checkpointState).
    public var task: [String: JSONValue] = [:]
    /// Wall-clock seconds of training up to `step`, over all resumed sessions (a resumed
    /// `--max-time` run spends only what is left of its budget).
    public var elapsedSeconds = 0.0

    var json: JSONValue {
        var o: [String: JSONValue] = [
            "global_step": .number(Double(step)),
            "dropout_rng": .array(dropoutRNG.map { .string(String($0)) }),
            "optimizer": .string(optimizerKind),
            "run": .object(run.mapValues { .string($0) }),
            "evals_without_improvement": .number(Double(evalsWithoutImprovement)),
            "elapsed_seconds": .number(elapsedSeconds),
        ]
        if !task.isEmpty { o["task"] = .object(task) }
        if let bestMetric { o["best_metric"] = .number(bestMetric) }
        if let bestCheckpoint { o["best_checkpoint"] = .string(bestCheckpoint) }
        return .object(o)
    }

    init() {}

    init(json: JSONValue, source: String) throws {
        guard let o = json.objectValue, let step = o["global_step"]?.intValue,
              let rng = o["dropout_rng"]?.arrayValue?.compactMap({ $0.stringValue.flatMap(UInt64.init) }), rng.count == 4 else {
            throw ElectraError("\(source): missing global_step or dropout_rng")
        }
        // A damaged or hand-edited state: errors here, not traps in the resumed loop.
        guard (0..<1 << 40).contains(step) else { throw ElectraError("\(source): global_step is \(step), expected a step count >= 0") }
        self.step = step
        dropoutRNG = rng
        optimizerKind = o["optimizer"]?.stringValue ?? ""
        run = (o["run"]?.objectValue ?? [:]).compactMapValues(\.stringValue)
        bestMetric = o["best_metric"]?.doubleValue
        bestCheckpoint = o["best_checkpoint"]?.stringValue
        evalsWithoutImprovement = o["evals_without_improvement"]?.intValue ?? 0
        task = o["task"]?.objectValue ?? [:]
        elapsedSeconds = o["elapsed_seconds"]?.doubleValue ?? 0  // absent from older states
        guard elapsedSeconds.isFinite && (0..<1e12).contains(elapsedSeconds) else {
            throw ElectraError("\(source): elapsed_seconds is \(elapsedSeconds), expected seconds >= 0")
        }
        guard evalsWithoutImprovement >= 0 else { throw ElectraError("\(source): evals_without_improvement is \(evalsWithoutImprovement), expected >= 0") }
    }
}

/// Training checkpoints: OUTPUT/checkpoint-STEP/ holds each trained model's HF folder (the
/// checkpoint folder itself for a model whose `folder` is "", else that sub-folder, each
/// with its tokenizer files), optimizer.safetensors (each shared parameter once) and
/// trainer_state.json. A checkpoint is written into a temporary folder and renamed into
/// place, so a failure or a kill during a save leaves the previous checkpoints intact.
public enum TrainerCheckpoints {
    public static func name(step: Int) -> String { "checkpoint-\(step)" }

    public static func save(step: Int, models: [TrainedModel], optimizer: any Optimizer, state: TrainerState, in output: URL) throws {
        let final = output.appendingPathComponent(name(step: step))
        let tmp = output.appendingPathComponent(".checkpoint-\(step).tmp")
        try? FileManager.default.removeItem(at: tmp)
        do {
            try FileManager.default.createFolder(at: tmp)
            try saveModels(models, to: tmp)
            try optimizer.saveState(to: tmp.appendingPathComponent("optimizer.safetensors"))
            try AtomicFile.write(try state.json.serialized(), to: tmp.appendingPathComponent("trainer_state.json"))
            try? FileManager.default.removeItem(at: final)
            guard rename(tmp.path, final.path) == 0 else {
                throw ElectraError("cannot move \(tmp.path) to \(final.path): \(String(cString: strerror(errno)))")
            }
            AtomicFile.syncFolder(output)
        } catch {
            try? FileManager.default.removeItem(at: tmp)  // a failed save leaves nothing behind
            throw error
        }
    }

    /// Each model's HF folder (config, weights, its extra files) under `dir`.
    public static func saveModels(_ models: [TrainedModel], to dir: URL) throws {
        for m in models {
            let folder = m.folder.isEmpty ? dir : dir.appendingPathComponent(m.folder)
            try m.model.save(to: folder, config: m.savedConfig)
            for f in m.extraFiles { try copyReplacing(f, into: folder) }
        }
    }

    /// The steps of the checkpoint folders in `output`, ascending.
    public static func steps(in output: URL) -> [Int] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []
        // Only the names this trainer writes ("checkpoint-007" is somebody else's folder).
        return names.compactMap { n -> Int? in
            guard n.hasPrefix("checkpoint-"), let step = Int(n.dropFirst("checkpoint-".count)), step >= 0, name(step: step) == n else { return nil }
            return step
        }.sorted()
    }

    /// The checkpoint folder with the highest step, if any.
    public static func latest(in output: URL) -> URL? {
        steps(in: output).last.map { output.appendingPathComponent(name(step: $0)) }
    }

    /// Removes the oldest checkpoints beyond `limit`, never `keep` (the best one) nor the
    /// newest (what a resume continues from): with a limit of 1 and an older best, two stay,
    /// as in HF's Trainer.
    static func rotate(in output: URL, limit: Int, keep: String?) {
        var steps = steps(in: output)
        while steps.count > limit {
            guard let victim = steps.dropLast().first(where: { name(step: $0) != keep }) else { return }
            try? FileManager.default.removeItem(at: output.appendingPathComponent(name(step: victim)))
            steps.removeAll { $0 == victim }
        }
        AtomicFile.syncFolder(output)
    }

    /// Loads each model's weights from a checkpoint.
    public static func restoreWeights(from dir: URL, models: [TrainedModel]) throws {
        for m in models {
            let folder = m.folder.isEmpty ? dir : dir.appendingPathComponent(m.folder)
            let weights = try CheckpointWeights.open(folder)
            for (name, p) in m.model.parameters.uniqueParameters {
                guard let t = try weights.tensor(name, expectedShape: p.shape) else {
                    throw ElectraError("\(dir.lastPathComponent): checkpoint lacks '\(name)'\(m.folder.isEmpty ? "" : " in \(m.folder)")")
                }
                // Into the existing buffer: parameters may be views of a shared block (fused QKV).
                p.pointer.update(from: t.pointer, count: t.count)
                p.markChanged()
            }
        }
    }

    /// Loads weights, optimizer state and the trainer state (the dropout generator is set
    /// from it) from a checkpoint.
    public static func restore(from dir: URL, models: [TrainedModel], optimizer: any Optimizer, dropout: DropoutContext) throws -> TrainerState {
        let state = try readState(dir)
        try restoreWeights(from: dir, models: models)
        try optimizer.restoreState(from: dir.appendingPathComponent("optimizer.safetensors"))
        dropout.rng.state = state.dropoutRNG
        return state
    }

    /// A checkpoint's trainer_state.json (read first, so that a resume with other settings is
    /// refused by name before any weight of the wrong shape is read).
    public static func readState(_ dir: URL) throws -> TrainerState {
        let stateURL = dir.appendingPathComponent("trainer_state.json")
        let data: Data
        do { data = try Data(contentsOf: stateURL) } catch { throw ElectraError("cannot read \(stateURL.path)") }
        return try TrainerState(json: try JSONValue.parse(data, source: "trainer_state.json"), source: stateURL.path)
    }

    /// Copies `file` into `dir`, replacing a file of the same name.
    /// Copies a tokenizer (or other) file into a model folder, replacing what is there; a
    /// tokenizer.json loses fixed padding/truncation (TokenizerFileCopy).
    public static func copyReplacing(_ file: URL, into dir: URL) throws {
        try TokenizerFileCopy.copy(file, to: dir.appendingPathComponent(file.lastPathComponent))
    }
}
