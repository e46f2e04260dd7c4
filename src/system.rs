//! What the machine has: cores, memory, and this process's memory use, read
//! from Linux's /proc (0 or "unknown" elsewhere). Only the binary reads the
//! system; the library is told.

fn proc_value(file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find(|l| l.starts_with(key))?;
    let kb: u64 = line[key.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kb * 1024)
}

/// Peak resident memory of this process so far (VmHWM), bytes.
pub fn peak_resident_bytes() -> u64 {
    proc_value("/proc/self/status", "VmHWM:").unwrap_or(0)
}

/// Resident memory of this process now (VmRSS), bytes.
pub fn resident_bytes() -> u64 {
    proc_value("/proc/self/status", "VmRSS:").unwrap_or(0)
}

/// Memory the system can give a new allocation (MemAvailable), bytes.
pub fn available_memory() -> Option<u64> {
    proc_value("/proc/meminfo", "MemAvailable:")
}

pub fn total_memory() -> u64 {
    proc_value("/proc/meminfo", "MemTotal:").unwrap_or(0)
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

pub fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| t.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split(':').nth(1)).map(|s| s.trim().to_string()))
        .unwrap_or_else(|| "unknown CPU".into())
}
