import Foundation

extension TensorBundle {
    /// The bundle prefix (`dir/model.ckpt-1000`) that `url` names: the prefix itself, its
    /// `.index` or a data file, a `checkpoint` state file, or a folder with a `checkpoint`
    /// file or a single `*.index`.
    public static func resolvePrefix(_ url: URL) throws -> URL {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        let path = url.standardizedFileURL.path
        if fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            let folder = URL(fileURLWithPath: path, isDirectory: true)
            let stateFile = folder.appendingPathComponent("checkpoint")
            if fm.fileExists(atPath: stateFile.path) { return try prefix(fromStateFile: stateFile) }
            let indexes = ((try? fm.contentsOfDirectory(atPath: path)) ?? []).filter { $0.hasSuffix(".index") }.sorted()
            guard indexes.count == 1 else {
                throw ElectraError(indexes.isEmpty
                    ? "\(path): no TF1 checkpoint here (no `checkpoint` file and no *.index file)"
                    : "\(path): \(indexes.count) checkpoints here (\(indexes.joined(separator: ", "))) and no `checkpoint` file naming one; pass a prefix such as \(folder.appendingPathComponent(String(indexes[0].dropLast(6))).path)")
            }
            return folder.appendingPathComponent(String(indexes[0].dropLast(".index".count)))
        }
        if url.lastPathComponent == "checkpoint" { return try prefix(fromStateFile: URL(fileURLWithPath: path)) }
        if path.hasSuffix(".index") { return URL(fileURLWithPath: String(path.dropLast(".index".count))) }
        // "PREFIX.data-00000-of-00001": 20 characters after the prefix.
        let tail = path.suffix(20)
        if tail.count == 20, tail.hasPrefix(".data-"), tail.dropFirst(11).hasPrefix("-of-"),
           tail.dropFirst(6).prefix(5).allSatisfy(\.isNumber), tail.suffix(5).allSatisfy(\.isNumber) {
            return URL(fileURLWithPath: String(path.dropLast(20)))
        }
        return URL(fileURLWithPath: path)
    }

    /// The prefix named by the `model_checkpoint_path` line of a `checkpoint` state file
    /// (text protobuf), always inside the state file's folder. The file may come from
    /// elsewhere (a download), so the name it holds is not trusted as a path: a plain file name
    /// is taken as is, and any other path (absolute, `gs://...`, `sub/x`, `../x`) is reduced
    /// to its last component inside the folder, where downloaded checkpoints keep it. An
    /// absolute path that exists on this machine is not followed either: a state file must
    /// not make us open files outside its folder. A last component of `.` or `..` is refused.
    static func prefix(fromStateFile file: URL) throws -> URL {
        let folder = file.deletingLastPathComponent()
        // Through MappedFile: a FIFO or device named "checkpoint" is refused, not waited on.
        let bytes = try MappedFile(url: file)
        guard let text = String(validating: UnsafeRawBufferPointer(start: bytes.base, count: bytes.size), as: UTF8.self) else {
            throw ElectraError("\(file.path): cannot read the checkpoint state file as UTF-8 text")
        }
        let line = text.split(whereSeparator: \.isNewline)
            .map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix("model_checkpoint_path:") }
        guard let line, let open = line.firstIndex(of: "\""), let close = line.lastIndex(of: "\""), open < close else {
            throw ElectraError("\(file.path): no model_checkpoint_path: \"...\" line naming the checkpoint")
        }
        let named = String(line[line.index(after: open)..<close])
            .replacingOccurrences(of: "\\\"", with: "\"").replacingOccurrences(of: "\\\\", with: "\\")
        guard !named.isEmpty else { throw ElectraError("\(file.path): model_checkpoint_path is empty") }
        let last = named.split(separator: "/").last.map(String.init) ?? ""
        guard !last.isEmpty, last != ".", last != ".." else {
            throw ElectraError("\(file.path): model_checkpoint_path \"\(named)\" does not name a checkpoint file in \(folder.path)")
        }
        return folder.appendingPathComponent(last)
    }
}
