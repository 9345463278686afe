import CVectorKernels

/// Ctrl-C and `kill` for long jobs: after `install()`, SIGINT and SIGTERM only set a flag,
/// which the trainer polls between steps to save a checkpoint and stop cleanly.
public enum StopSignals {
    public static func install() { ek_install_stop_signals() }
    public static var requested: Bool { ek_stop_requested() != 0 }
}
