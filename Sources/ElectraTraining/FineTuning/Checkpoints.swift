import Electra
import Foundation

/// Training checkpoints: OUTPUT/checkpoint-STEP/ with the HF model folder (config.json,
/// model.safetensors, tokenizer files), optimizer.safetensors and trainer_state.json (step,
/// dropout RNG). A checkpoint is written into a temporary folder and renamed into place, so a
/// kill during a save leaves the previous checkpoints intact.
public enum Checkpoints {
    public static func save(step: Int, model: any ElectraHeadModel, optimizer: any Optimizer, dropout: DropoutContext,
                            in output: URL, extraFiles: [URL]) throws {
        let final = output.appendingPathComponent("checkpoint-\(step)")
        let tmp = output.appendingPathComponent(".checkpoint-\(step).tmp")
        try? FileManager.default.removeItem(at: tmp)
        try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
        try model.save(to: tmp)
        for f in extraFiles { try copyReplacing(f, into: tmp) }
        try optimizer.saveState(to: tmp.appendingPathComponent("optimizer.safetensors"))
        let state: JSONValue = .object([
            "global_step": .number(Double(step)),
            "dropout_rng": .array(dropout.rng.state.map { .string(String($0)) }),
            "optimizer": .string(optimizer.kind),
        ])
        try AtomicFile.write(try state.serialized(), to: tmp.appendingPathComponent("trainer_state.json"))
        try? FileManager.default.removeItem(at: final)
        guard rename(tmp.path, final.path) == 0 else {
            throw ElectraError("cannot move \(tmp.path) to \(final.path): \(String(cString: strerror(errno)))")
        }
    }

    /// The checkpoint folder with the highest step, if any.
    public static func latest(in output: URL) -> URL? {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: output.path)) ?? []
        let steps = names.compactMap { n -> Int? in n.hasPrefix("checkpoint-") ? Int(n.dropFirst("checkpoint-".count)) : nil }
        return steps.max().map { output.appendingPathComponent("checkpoint-\($0)") }
    }

    /// Loads weights, optimizer state and RNG from a checkpoint; returns its step.
    public static func restore(from dir: URL, model: any ElectraHeadModel, optimizer: any Optimizer, dropout: DropoutContext) throws -> Int {
        let weights = try CheckpointWeights.open(dir)
        for (name, p) in model.parameters.uniqueParameters {
            guard let t = try weights.tensor(name, expectedShape: p.shape) else {
                throw ElectraError("\(dir.lastPathComponent): checkpoint lacks '\(name)'")
            }
            // Into the existing buffer: parameters may be views of a shared block (fused QKV).
            p.pointer.update(from: t.pointer, count: t.count)
            p.markChanged()
        }
        try optimizer.restoreState(from: dir.appendingPathComponent("optimizer.safetensors"))
        let stateURL = dir.appendingPathComponent("trainer_state.json")
        let data: Data
        do { data = try Data(contentsOf: stateURL) } catch { throw ElectraError("cannot read \(stateURL.path)") }
        guard let o = try JSONValue.parse(data, source: "trainer_state.json").objectValue,
              let step = o["global_step"]?.intValue,
              let rng = o["dropout_rng"]?.arrayValue?.compactMap({ $0.stringValue.flatMap(UInt64.init) }), rng.count == 4 else {
            throw ElectraError("\(stateURL.path): missing global_step or dropout_rng")
        }
        dropout.rng.state = rng
        return step
    }

    /// Copies `file` into `dir`, replacing a file of the same name.
    public static func copyReplacing(_ file: URL, into dir: URL) throws {
        let dst = dir.appendingPathComponent(file.lastPathComponent)
        try? FileManager.default.removeItem(at: dst)
        try FileManager.default.copyItem(at: file, to: dst)
    }
}
