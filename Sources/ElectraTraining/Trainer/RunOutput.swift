import Electra
import Foundation

/// The output folder of a training run, guarded so that nothing a user passed as an input is
/// ever deleted or overwritten: `check` runs before anything is read or written, and
/// replacing an earlier run (`clearPreviousRun`) removes only what a run writes, after the
/// inputs are loaded.
public enum RunOutput {
    public enum Mode: Sendable { case fresh, overwrite, resume }

    /// Top-level names a run with these model folders and extra files writes (checkpoint
    /// folders aside).
    static func writtenNames(models: [(folder: String, extraFiles: [String])]) -> Set<String> {
        var names: Set<String> = ["metrics.jsonl", "training.svg"]
        for m in models {
            if m.folder.isEmpty {
                names.formUnion(["config.json", "model.safetensors"] + m.extraFiles)
            } else {
                names.insert(m.folder)
            }
        }
        return names
    }

    /// checkpoint-STEP or its temporary .checkpoint-STEP.tmp: what a run writes, and no other
    /// name (a user's checkpoint-best/ stays).
    static func isCheckpointName(_ name: String) -> Bool {
        func isStep(_ s: Substring) -> Bool { !s.isEmpty && s.allSatisfy(\.isASCII) && s.allSatisfy(\.isNumber) }
        if name.hasPrefix("checkpoint-") { return isStep(name.dropFirst("checkpoint-".count)) }
        if name.hasPrefix(".checkpoint-") && name.hasSuffix(".tmp") { return isStep(name.dropFirst(".checkpoint-".count).dropLast(".tmp".count)) }
        return false
    }

    /// Refuses an output that is a file, that is one of the input folders, or under which an
    /// input lies where a run writes or removes; an existing folder only with `overwrite` or
    /// `resume`. `inputs`: (option name, path) of every input; `otherWrites`: top-level names
    /// the run writes or replaces besides its models and logs (pretraining's `data/`).
    public static func check(_ output: URL, inputs: [(option: String, url: URL)], mode: Mode,
                             models: [(folder: String, extraFiles: [String])], otherWrites: [String] = []) throws {
        var isDir: ObjCBool = false
        let exists = FileManager.default.fileExists(atPath: output.path, isDirectory: &isDir)
        if exists && !isDir.boolValue {
            throw ElectraError("--output \(output.path) is a file, not a folder; give a folder path")
        }
        let out = output.resolvedPathComponents
        let written = writtenNames(models: models).union(otherWrites)
        for (option, url) in inputs {
            let input = url.resolvedPathComponents
            if input == out {
                throw ElectraError("--output \(output.path) is the \(option) input; choose another output folder")
            }
            if input.count > out.count, Array(input.prefix(out.count)) == out {
                let top = input[out.count]
                if written.contains(top) || isCheckpointName(top) {
                    throw ElectraError("--output \(output.path) would overwrite or remove the \(option) input \(url.path); choose another output folder")
                }
            }
        }
        if exists && mode == .fresh {
            throw ElectraError("output folder \(output.path) exists; pass --overwrite-output to replace the previous run in it or --resume to continue")
        }
    }

    /// Removes what a previous run wrote into `output` (checkpoints, logs, the saved models);
    /// other files stay.
    public static func clearPreviousRun(_ output: URL, models: [(folder: String, extraFiles: [String])]) throws {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: output.path) else { return }
        let written = writtenNames(models: models)
        for name in names where isCheckpointName(name) || written.contains(name) {
            let url = output.appendingPathComponent(name)
            var info = stat()
            if lstat(url.path, &info) == 0, info.st_mode & S_IFMT == S_IFLNK {
                // A link where a run writes: the link goes, never the files it leads to (an input's).
                _ = unlink(url.path)
                continue
            }
            if let m = models.first(where: { !$0.folder.isEmpty && $0.folder == name }) {
                // A model sub-folder: only the files a run writes there.
                for f in ["config.json", "model.safetensors"] + m.extraFiles { try? fm.removeItem(at: url.appendingPathComponent(f)) }
                // removeItem is recursive: the folder goes only when nothing else is in it.
                if (try? fm.contentsOfDirectory(atPath: url.path))?.isEmpty == true { try? fm.removeItem(at: url) }
                continue
            }
            do { try fm.removeItem(at: url) } catch {
                throw ElectraError("cannot remove \(url.path) from the previous run: \(error.localizedDescription)")
            }
        }
    }
}
