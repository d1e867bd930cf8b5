//! The Unix side of [`crate::sys`]: Linux, macOS and the BSDs.

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, BufRead, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};

use zeroize::Zeroizing;

// ---------------------------------------------------------------------------------------
// Terminal

/// The controlling terminal (`/dev/tty`), which works even when standard input and
/// output are captured (`credential_process`, `$(…)`).
pub struct Console {
    tty: File,
}

impl Console {
    /// The terminal, when there is one.
    pub fn open() -> Option<Console> {
        let tty = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        Some(Console { tty })
    }

    pub fn write(&self, text: &[u8]) -> io::Result<()> {
        let mut w = &self.tty;
        w.write_all(text)?;
        w.flush()
    }

    /// One line as typed (at most `limit` bytes), without its line break.
    pub fn read_line(&self, limit: u64) -> io::Result<Zeroizing<String>> {
        let mut line = Zeroizing::new(String::new());
        io::BufReader::new((&self.tty).take(limit)).read_line(&mut line)?;
        let end = line.trim_end_matches(['\n', '\r']).len();
        line.truncate(end);
        Ok(line)
    }

    /// One line read with echo off; the terminal's settings are restored whatever the
    /// read does.
    pub fn read_hidden(&self, limit: u64) -> io::Result<Zeroizing<String>> {
        let fd = self.tty.as_raw_fd();
        // SAFETY: termios is plain data; tcgetattr fills it for an open terminal fd.
        let mut saved: libc::termios = unsafe { std::mem::zeroed() };
        // SAFETY: fd is open for the lifetime of `self`; `saved` is a valid termios.
        if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
            return Err(io::Error::last_os_error());
        }
        let mut quiet = saved;
        quiet.c_lflag &= !(libc::ECHO | libc::ECHONL);
        quiet.c_lflag |= libc::ICANON;
        // SAFETY: as above; `quiet` is a copy of a valid termios.
        unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &quiet) };
        let read = self.read_line(limit);
        // SAFETY: restores what tcgetattr returned.
        unsafe { libc::tcsetattr(fd, libc::TCSAFLUSH, &saved) };
        let _ = self.write(b"\n");
        read
    }
}

/// The terminal for writing only (a QR code, a notice under `credential_process`).
pub fn console_output() -> Option<File> {
    OpenOptions::new().write(true).open("/dev/tty").ok()
}

// ---------------------------------------------------------------------------------------
// This process

/// The core-file size limit awsmfa started with (`u64::MAX`: not known).
static CORE_LIMIT: AtomicU64 = AtomicU64::new(u64::MAX);

/// No core dumps of awsmfa itself: a dump could hold secret keys (DESIGN §7). Only the
/// soft limit is lowered (and on Linux the process marked undumpable, which `execve`
/// undoes), so the commands awsmfa runs get the person's own limits back.
pub fn harden() {
    // SAFETY: plain system calls on this process with valid arguments.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 {
            CORE_LIMIT.store(limit.rlim_cur as u64, Ordering::SeqCst);
            limit.rlim_cur = 0;
            libc::setrlimit(libc::RLIMIT_CORE, &limit);
        }
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Gives a command the core-file limit awsmfa started with.
pub fn restore_limits(cmd: &mut Command) {
    let soft = CORE_LIMIT.load(Ordering::SeqCst);
    // Unknown, or 0 as awsmfa runs now (the usual soft limit): the child inherits the
    // right one, and with no step between fork and exec std starts it with posix_spawn
    // (vfork) instead of a fork, which `exec` pays for on every call.
    if soft == u64::MAX || soft == 0 {
        return;
    }
    // SAFETY: between fork and exec only async-signal-safe calls are made: getrlimit
    // and setrlimit on plain data.
    unsafe {
        cmd.pre_exec(move || {
            set_core_limit(soft);
            Ok(())
        });
    }
}

/// Replaces this process with `cmd` and returns only when that fails: what
/// `CommandExt::exec` does (the program found in `PATH` as `execvp` finds it, SIGPIPE
/// back to its default, the core-file limit of [`restore_limits`]), without first
/// copying the whole environment into a map and out again, std's way, which costs the
/// hot path tens of microseconds in a shell's environment: the inherited variables are
/// passed as they are, the command's changes written once.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub fn exec_in_place(cmd: &mut Command) -> io::Error {
    use std::ffi::{CStr, CString, c_char};
    use std::os::unix::ffi::OsStrExt;
    unsafe extern "C" {
        // `mut`: setenv may replace the array.
        static mut environ: *const *const c_char;
    }
    let c_string = |bytes: Vec<u8>| {
        CString::new(bytes)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "a NUL byte in the command"))
    };
    let changes: Vec<_> = cmd.get_envs().collect();
    let mut owned = Vec::new();
    for part in std::iter::once(cmd.get_program()).chain(cmd.get_args()) {
        match c_string(part.as_bytes().to_vec()) {
            Ok(c) => owned.push(c),
            Err(e) => return e,
        }
    }
    let argc = owned.len();
    for (name, value) in &changes {
        if let Some(value) = value {
            let entry = [name.as_bytes(), b"=", value.as_bytes()].concat();
            match c_string(entry) {
                Ok(c) => owned.push(c),
                Err(e) => return e,
            }
        }
    }
    let mut argv: Vec<*const c_char> = owned[..argc].iter().map(|c| c.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const c_char> = Vec::new();
    // SAFETY: `environ` is the process's NULL-terminated array of "NAME=value" strings;
    // awsmfa runs one thread here and nothing changes it while it is read.
    unsafe {
        let mut entry = environ;
        while !entry.is_null() && !(*entry).is_null() {
            let bytes = CStr::from_ptr(*entry).to_bytes();
            // As std reads it: the name ends at the first `=` after the first byte; an
            // entry without one is not a variable.
            let name = bytes
                .iter()
                .skip(1)
                .position(|b| *b == b'=')
                .map(|i| &bytes[..i + 1]);
            if name.is_some_and(|n| !changes.iter().any(|(c, _)| c.as_bytes() == n)) {
                envp.push(*entry);
            }
            entry = entry.add(1);
        }
    }
    envp.extend(owned[argc..].iter().map(|c| c.as_ptr()));
    envp.push(std::ptr::null());
    let soft = CORE_LIMIT.load(Ordering::SeqCst);
    // 0 (the usual soft limit) is what awsmfa runs with: nothing to give back.
    let give_back = soft != 0 && soft != u64::MAX;
    if give_back {
        set_core_limit(soft);
    }
    // SAFETY: plain system calls with valid arguments; the arrays and the strings they
    // point to outlive the call.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::execvpe(owned[0].as_ptr(), argv.as_ptr(), envp.as_ptr());
    }
    let error = io::Error::last_os_error();
    // Not run: awsmfa, which may hold secrets, makes no core file after all.
    if give_back {
        set_core_limit(0);
    }
    error
}

/// Elsewhere std's own.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub fn exec_in_place(cmd: &mut Command) -> io::Error {
    cmd.exec()
}

/// Sets the soft core-file limit (`u64::MAX`: leaves it).
fn set_core_limit(soft: u64) {
    if soft == u64::MAX {
        return;
    }
    // SAFETY: getrlimit and setrlimit on plain data.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_CORE, &mut limit) == 0 {
            limit.rlim_cur = soft as libc::rlim_t;
            libc::setrlimit(libc::RLIMIT_CORE, &limit);
        }
    }
}

// ---------------------------------------------------------------------------------------
// Helper commands and children

/// A helper command (`mfa_process`, the passphrase command): `sh -c COMMAND`.
pub fn shell_command(command: &str) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c").arg(command);
    cmd
}

/// A source profile's `credential_process` as botocore runs it on Unix: split into words
/// as `shlex.split` splits them and run with no shell (no `$VAR`, `~`, pipes or `;`).
pub fn credential_process_command(command: &str) -> Result<Command, String> {
    let words = crate::shlex::split(command)
        .ok_or("its command line has an unclosed quote or a trailing backslash")?;
    let (program, args) = words.split_first().ok_or("its command line is empty")?;
    let mut cmd = Command::new(program);
    cmd.args(args);
    Ok(cmd)
}

/// A helper command and everything it started: its process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group(i32);

impl Group {
    /// Makes the command the leader of a new process group, before it is spawned.
    pub fn prepare(cmd: &mut Command) {
        cmd.process_group(0);
    }

    /// The group of a child started after [`Group::prepare`].
    pub fn of(child: &Child) -> Group {
        Group(child.id() as i32)
    }

    /// Ends every process in the group.
    pub fn kill(self) {
        // SAFETY: signalling a process group this process created.
        unsafe {
            libc::kill(-self.0, libc::SIGKILL);
        }
    }

    /// Forgets the group (its leader has been waited for).
    pub fn release(self) {}
}

/// Starts the command in a session of its own: no controlling terminal, untouched by
/// the terminal's signals (the background credentials server).
pub fn new_session(cmd: &mut Command) {
    restore_limits(cmd);
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The child `exec` forwards signals to (0: none).
static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn forward(sig: libc::c_int) {
    let pid = CHILD.load(Ordering::SeqCst);
    if pid > 0 {
        // SAFETY: kill is async-signal-safe.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// SIGINT, SIGTERM and SIGHUP sent to awsmfa go to the child named by
/// [`forward_interrupts_to`] instead of ending awsmfa.
pub fn install_interrupt_forwarding() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        // SAFETY: installing a handler that only calls async-signal-safe functions.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = forward as *const () as usize;
            action.sa_flags = libc::SA_RESTART;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

/// The child that forwarded signals go to (0: none).
pub fn forward_interrupts_to(pid: u32) {
    CHILD.store(pid as i32, Ordering::SeqCst);
}

/// A child's status as a shell reports it: its exit code, 128+N for a death by signal N.
pub fn exit_code(status: ExitStatus) -> i32 {
    match (status.code(), status.signal()) {
        (Some(code), _) => code,
        (None, Some(sig)) => 128 + sig,
        _ => 1,
    }
}

/// The signals that stop a server: SIGTERM, SIGINT, SIGHUP.
pub struct StopSignals(libc::sigset_t);

/// Blocks the stop signals in this thread (and every thread started after), so that
/// [`wait_for_signal`] receives them. Call before starting threads.
pub fn block_stop_signals() -> StopSignals {
    // SAFETY: sigset_t is plain data, filled by sigemptyset/sigaddset.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        StopSignals(set)
    }
}

/// Waits for one of the blocked stop signals and returns its number.
pub fn wait_for_signal(signals: &StopSignals) -> i32 {
    loop {
        let mut sig: libc::c_int = 0;
        // SAFETY: a valid set and a place for the answer.
        if unsafe { libc::sigwait(&signals.0, &mut sig) } == 0 {
            return sig;
        }
    }
}

/// Points standard error at `file`.
pub fn redirect_stderr(file: &File) {
    // SAFETY: both descriptors are open.
    unsafe {
        libc::dup2(file.as_raw_fd(), libc::STDERR_FILENO);
    }
}

/// Closes standard output for readers (it then points at /dev/null).
pub fn close_stdout() {
    if let Ok(null) = OpenOptions::new().write(true).open("/dev/null") {
        // SAFETY: both descriptors are open.
        unsafe {
            libc::dup2(null.as_raw_fd(), libc::STDOUT_FILENO);
        }
    }
}

/// The process that started awsmfa.
pub fn parent_pid() -> Option<u32> {
    // SAFETY: getppid cannot fail.
    let ppid = unsafe { libc::getppid() };
    u32::try_from(ppid).ok()
}

/// The name of the program that started awsmfa (Linux: `/proc/PPID/comm`; macOS:
/// `proc_name`), to tell which shell evaluates its output.
pub fn parent_name() -> Option<String> {
    let ppid = parent_pid()?;
    #[cfg(target_os = "macos")]
    {
        let mut buf = [0u8; 256];
        // SAFETY: a buffer of the size given; proc_name writes at most that.
        let n = unsafe { libc::proc_name(ppid as libc::c_int, buf.as_mut_ptr().cast(), 256) };
        let len = usize::try_from(n).ok().filter(|&n| n > 0)?;
        Some(String::from_utf8_lossy(&buf[..len.min(buf.len())]).into_owned())
    }
    #[cfg(not(target_os = "macos"))]
    {
        if !cfg!(target_os = "linux") {
            return None;
        }
        let name = std::fs::read_to_string(format!("/proc/{ppid}/comm")).ok()?;
        Some(name.trim_end().to_string())
    }
}

/// Whether process `pid` still exists.
pub fn alive(pid: u32) -> bool {
    // SAFETY: signal 0 only checks.
    let r = unsafe { libc::kill(pid as libc::pid_t, 0) };
    r == 0 || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Asks process `pid` to stop (SIGTERM).
pub fn terminate(pid: u32) {
    // SAFETY: a plain signal to a process of ours.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
}

/// Ends process `pid` (SIGKILL).
pub fn kill(pid: u32) {
    // SAFETY: a plain signal to a process of ours.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGKILL);
    }
}

/// When process `pid` started, in the system's own units (Linux: clock ticks since
/// boot from `/proc/PID/stat`; macOS: microseconds since the epoch from `proc_pidinfo`):
/// with the pid, it names one process for good, where a pid alone is reused.
pub fn process_start(pid: u32) -> Option<u64> {
    #[cfg(target_os = "macos")]
    {
        bsd_info(pid).map(|i| i.pbi_start_tvsec * 1_000_000 + i.pbi_start_tvusec)
    }
    #[cfg(not(target_os = "macos"))]
    {
        // A zombie has exited: it runs nothing and holds nothing.
        let fields = stat_fields(pid)?;
        (fields.first()? != "Z").then_some(())?;
        fields.get(19)?.parse().ok()
    }
}

/// The parent of process `pid`.
pub fn parent_of(pid: u32) -> Option<u32> {
    #[cfg(target_os = "macos")]
    {
        bsd_info(pid).map(|i| i.pbi_ppid)
    }
    #[cfg(not(target_os = "macos"))]
    {
        stat_fields(pid)?.get(1)?.parse().ok()
    }
}

/// The executable process `pid` runs (Linux: `/proc/PID/exe`; macOS: `proc_pidpath`).
pub fn process_exe(pid: u32) -> Option<std::path::PathBuf> {
    #[cfg(target_os = "macos")]
    {
        use std::os::unix::ffi::OsStrExt;
        let mut buf = vec![0u8; libc::PROC_PIDPATHINFO_MAXSIZE as usize];
        // SAFETY: a buffer of the size given; proc_pidpath writes at most that.
        let n = unsafe {
            libc::proc_pidpath(
                pid as libc::c_int,
                buf.as_mut_ptr().cast(),
                buf.len() as u32,
            )
        };
        let len = usize::try_from(n).ok().filter(|&n| n > 0)?;
        Some(std::ffi::OsStr::from_bytes(&buf[..len]).into())
    }
    #[cfg(not(target_os = "macos"))]
    {
        // An executable replaced since it started (an upgrade) reads "PATH (deleted)".
        let path = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
        let text = path.to_string_lossy();
        Some(match text.strip_suffix(" (deleted)") {
            Some(original) => original.into(),
            None => path,
        })
    }
}

/// The fields of `/proc/PID/stat` after the command name (which may hold spaces and
/// parentheses): `[0]` the state, `[1]` the parent, `[19]` the start time.
#[cfg(not(target_os = "macos"))]
fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    Some(rest.split_whitespace().map(String::from).collect())
}

#[cfg(target_os = "macos")]
fn bsd_info(pid: u32) -> Option<libc::proc_bsdinfo> {
    // SAFETY: an all-zero proc_bsdinfo is valid; proc_pidinfo fills at most its size.
    let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
    let size = std::mem::size_of::<libc::proc_bsdinfo>() as libc::c_int;
    let n = unsafe {
        libc::proc_pidinfo(
            pid as libc::c_int,
            libc::PROC_PIDTBSDINFO,
            0,
            (&mut info as *mut libc::proc_bsdinfo).cast(),
            size,
        )
    };
    (n == size).then_some(info)
}

/// The process that reads what this process writes to its standard output, when that
/// is a pipe and the reader is one of its ancestors: the shell that evaluates
/// `eval "$(awsmfa server)"` (or `awsmfa server | source` in fish), however many
/// subshells stand between (bash forks one for `$(… 2>/dev/null)`). Linux reads the
/// ancestors' open files from `/proc`, macOS from libproc (`proc_pidfdinfo`); elsewhere
/// `None` (the caller falls back to the parent shell).
pub fn stdout_reader() -> Option<u32> {
    let ours = pipe_id(libc::STDOUT_FILENO)?;
    let mut pid = parent_pid()?;
    for _ in 0..64 {
        if pid <= 1 {
            return None;
        }
        if holds_read_end(pid, ours) {
            return Some(pid);
        }
        pid = parent_of(pid)?;
    }
    None
}

/// What names the pipe `fd` writes to, as [`holds_read_end`] looks for it in another
/// process (Linux: the pipe's inode; macOS: the kernel's handle of its read end), or
/// `None` when `fd` is not a pipe.
#[cfg(target_os = "linux")]
fn pipe_id(fd: libc::c_int) -> Option<u64> {
    use std::os::unix::fs::FileTypeExt;
    let meta = std::fs::metadata(format!("/proc/self/fd/{fd}")).ok()?;
    meta.file_type().is_fifo().then(|| meta.ino())
}

/// Whether process `pid` has the pipe `inode` open for reading.
#[cfg(target_os = "linux")]
fn holds_read_end(pid: u32, inode: u64) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    let want = format!("pipe:[{inode}]");
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path()).is_ok_and(|t| t.as_os_str() == want.as_str())
            && std::fs::read_to_string(format!(
                "/proc/{pid}/fdinfo/{}",
                fd.file_name().to_string_lossy()
            ))
            .ok()
            .and_then(|info| {
                let flags = info.lines().find_map(|l| l.strip_prefix("flags:"))?;
                u32::from_str_radix(flags.trim(), 8).ok()
            })
            .is_some_and(|flags| flags & libc::O_ACCMODE as u32 == libc::O_RDONLY as u32)
    })
}

#[cfg(target_os = "macos")]
fn pipe_id(fd: libc::c_int) -> Option<u64> {
    // Our end writes; its peer is the read end another process may hold.
    let me = i32::try_from(std::process::id()).ok()?;
    mac_pipe::end(me, fd).map(|end| end.pipeinfo.pipe_peerhandle)
}

/// Whether process `pid` has an open file that is the read end `handle` of a pipe.
#[cfg(target_os = "macos")]
fn holds_read_end(pid: u32, handle: u64) -> bool {
    let Ok(pid) = i32::try_from(pid) else {
        return false;
    };
    mac_pipe::fds(pid).into_iter().any(|fd| {
        fd.proc_fdtype == libc::PROX_FDTYPE_PIPE as u32
            && mac_pipe::end(pid, fd.proc_fd).is_some_and(|end| {
                end.pipeinfo.pipe_handle == handle && end.pfi.fi_openflags & mac_pipe::FREAD != 0
            })
    })
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn pipe_id(_fd: libc::c_int) -> Option<u64> {
    None
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
fn holds_read_end(_pid: u32, _id: u64) -> bool {
    false
}

/// libproc's view of a process's pipes (`<sys/proc_info.h>`: what the `libc` crate
/// does not declare).
#[cfg(target_os = "macos")]
mod mac_pipe {
    /// `PROC_PIDFDPIPEINFO`: `proc_pidfdinfo` fills a [`PipeFdInfo`].
    const PROC_PIDFDPIPEINFO: libc::c_int = 6;
    /// `FREAD` in `fi_openflags`: the file is open for reading.
    pub const FREAD: u32 = 0x1;

    #[repr(C)]
    pub struct ProcFileInfo {
        pub fi_openflags: u32,
        pub fi_status: u32,
        pub fi_offset: libc::off_t,
        pub fi_type: i32,
        pub fi_guardflags: u32,
    }

    #[repr(C)]
    pub struct PipeInfo {
        pub pipe_stat: libc::vinfo_stat,
        pub pipe_handle: u64,
        pub pipe_peerhandle: u64,
        pub pipe_status: i32,
        pub rfu_1: i32,
    }

    #[repr(C)]
    pub struct PipeFdInfo {
        pub pfi: ProcFileInfo,
        pub pipeinfo: PipeInfo,
    }

    // The sizes <sys/proc_info.h> gives them (24 + 160): the kernel fills nothing into a
    // buffer of another size.
    const _: () = assert!(std::mem::size_of::<ProcFileInfo>() == 24);
    const _: () = assert!(std::mem::size_of::<PipeFdInfo>() == 184);

    /// Process `pid`'s pipe end at `fd`, or `None` when `fd` is no pipe (or not ours to see).
    pub fn end(pid: libc::c_int, fd: libc::c_int) -> Option<PipeFdInfo> {
        // SAFETY: an all-zero PipeFdInfo is valid (integers only); proc_pidfdinfo writes
        // at most the size given.
        let mut info: PipeFdInfo = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<PipeFdInfo>() as libc::c_int;
        let n = unsafe {
            libc::proc_pidfdinfo(
                pid,
                fd,
                PROC_PIDFDPIPEINFO,
                (&mut info as *mut PipeFdInfo).cast(),
                size,
            )
        };
        (n == size).then_some(info)
    }

    /// Process `pid`'s open files (`PROC_PIDLISTFDS`).
    pub fn fds(pid: libc::c_int) -> Vec<libc::proc_fdinfo> {
        let entry = std::mem::size_of::<libc::proc_fdinfo>();
        // SAFETY: a null buffer asks only for the size needed.
        let needed =
            unsafe { libc::proc_pidinfo(pid, libc::PROC_PIDLISTFDS, 0, std::ptr::null_mut(), 0) };
        let Ok(needed) = usize::try_from(needed) else {
            return Vec::new();
        };
        // Room for a few files opened since.
        let mut list: Vec<libc::proc_fdinfo> = Vec::with_capacity(needed / entry + 16);
        let room = (list.capacity() * entry) as libc::c_int;
        // SAFETY: the buffer holds `room` bytes; proc_pidinfo writes at most that, whole
        // entries, and returns how many bytes it wrote.
        let got = unsafe {
            libc::proc_pidinfo(
                pid,
                libc::PROC_PIDLISTFDS,
                0,
                list.as_mut_ptr().cast(),
                room,
            )
        };
        let count = usize::try_from(got).unwrap_or(0) / entry;
        // SAFETY: proc_pidinfo initialised `count` entries.
        unsafe { list.set_len(count.min(list.capacity())) };
        list
    }
}

/// A temporary directory in `parent`, 0700 from its first instant whatever the umask;
/// removed on drop.
pub fn private_tempdir(parent: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    tempfile::Builder::new()
        .prefix(prefix)
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(parent)
}

// ---------------------------------------------------------------------------------------
// Sockets

/// Waits up to `timeout` until the listener has a connection to accept or one of
/// `streams` has something to read (or was closed); `ready[0]` is the listener's,
/// `ready[i + 1]` stream `i`'s. An interrupted wait returns with nothing ready.
pub fn wait_readable(
    listener: &std::net::TcpListener,
    streams: &[&std::net::TcpStream],
    timeout: std::time::Duration,
    ready: &mut Vec<bool>,
) -> io::Result<()> {
    let mut fds: Vec<libc::pollfd> = std::iter::once(listener.as_raw_fd())
        .chain(streams.iter().map(|s| s.as_raw_fd()))
        .map(|fd| libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        })
        .collect();
    let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: `fds` is a valid array of its length for the duration of the call.
    let n = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
    ready.clear();
    if n < 0 {
        let e = io::Error::last_os_error();
        if e.kind() == io::ErrorKind::Interrupted {
            ready.resize(fds.len(), false);
            return Ok(());
        }
        return Err(e);
    }
    ready.extend(fds.iter().map(|p| p.revents != 0));
    Ok(())
}

/// Raises this process's limit of open descriptors to what it may (at most 65,536):
/// the credentials server holds one per waiting connection. Returns the limit now.
pub fn raise_open_files_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: a valid rlimit to fill, then to set.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        // macOS refuses more than OPEN_MAX for the soft limit.
        let cap: libc::rlim_t = if cfg!(target_os = "macos") {
            10_240
        } else {
            65_536
        };
        let want = lim.rlim_max.min(cap);
        if want > lim.rlim_cur {
            let raised = libc::rlimit {
                rlim_cur: want,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = want;
            }
        }
    }
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
    let limit = lim.rlim_cur as u64;
    limit
}

/// An always-empty file.
pub fn null_device() -> &'static str {
    "/dev/null"
}

// ---------------------------------------------------------------------------------------
// Files

/// Creates `dir` and its missing parents with mode 0700.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

/// Sets up `opts` to open without following a symbolic link at the name and, when
/// `create`, to create the file private to the user (0600) — private from its first
/// instant, not chmod'ed after.
pub fn open_nofollow(opts: &mut OpenOptions, create: bool) {
    opts.custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC);
    if create {
        opts.mode(0o600);
    }
}

/// Whether an open failed because the name is a symbolic link it would not follow (or
/// a loop of them).
pub fn is_symlink_loop(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

/// What privacy checks read: owner, permission bits, number of names, and this
/// process's user.
pub fn owner_and_mode(meta: &Metadata) -> Option<Owner> {
    Some(Owner {
        uid: meta.uid(),
        mode: meta.mode(),
        links: meta.nlink(),
    })
}

/// The owner and mode of a file, where the platform has them (Unix).
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub uid: u32,
    pub mode: u32,
    pub links: u64,
}

/// Reads `buf.len()` bytes of `file` at `offset` in one call (`pread`), without moving
/// its position: the files index looks up a few records of a big file.
pub fn read_exact_at(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

/// What identifies a file's content without reading it: device, inode, size, and the
/// modification and change times to the nanosecond. Any write, truncation, rename over
/// it or `touch` sets the change time to the clock's present (no call sets it back),
/// so the stamp of a file last changed before some instant T differs from its stamp
/// after any change made after T (the session cache's file index relies on it).
pub fn file_stamp(meta: &Metadata) -> Option<[i64; 7]> {
    Some([
        meta.dev() as i64,
        meta.ino() as i64,
        meta.size() as i64,
        meta.mtime(),
        meta.mtime_nsec(),
        meta.ctime(),
        meta.ctime_nsec(),
    ])
}

/// This process's effective user id.
pub fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Sets a path's permission bits.
pub fn set_private_mode(path: &Path, mode: u32) -> io::Result<()> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Makes a rename in `dir` durable.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

/// Renames the finished temporary file over `target` (atomic on every Unix).
pub fn replace_file(
    tmp: tempfile::NamedTempFile,
    target: &Path,
) -> Result<(), tempfile::PersistError> {
    tmp.persist(target).map(drop)
}

/// Runs `work` with SIGINT, SIGTERM and SIGHUP turned into a call of `cleanup` on another
/// thread; when `cleanup` says it did the cleaning (`true`; `false` when `work` is already
/// cleaning up itself), the process exits with 128+N. Signals keep their usual effect
/// before and after.
pub fn cleanup_on_interrupt<R>(
    cleanup: impl Fn(i32) -> bool + Sync,
    work: impl FnOnce() -> R,
) -> R {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    let done = AtomicBool::new(false);
    let waiter_id = AtomicUsize::new(0);
    let ready = AtomicBool::new(false);
    // SAFETY: sigset_t is plain data, filled by sigemptyset/sigaddset; pthread_sigmask
    // on this thread with valid sets.
    let (set, old) = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for sig in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP, libc::SIGUSR2] {
            libc::sigaddset(&mut set, sig);
        }
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        (set, old)
    };
    let result = std::thread::scope(|scope| {
        let waiter = scope.spawn(|| {
            // SAFETY: pthread_self cannot fail.
            waiter_id.store(unsafe { libc::pthread_self() } as usize, Ordering::SeqCst);
            ready.store(true, Ordering::SeqCst);
            loop {
                let mut sig: libc::c_int = 0;
                // SAFETY: a valid set and a place for the answer.
                if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                    continue;
                }
                if done.load(Ordering::SeqCst) {
                    return;
                }
                if sig != libc::SIGUSR2 && cleanup(sig) {
                    std::process::exit(128 + sig);
                }
            }
        });
        let result = work();
        done.store(true, Ordering::SeqCst);
        while !ready.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        // SAFETY: the waiter thread is alive until it has seen `done`.
        unsafe {
            libc::pthread_kill(
                waiter_id.load(Ordering::SeqCst) as libc::pthread_t,
                libc::SIGUSR2,
            );
        }
        let _ = waiter.join();
        result
    });
    // SAFETY: restores the mask this thread had.
    unsafe {
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
    }
    result
}

/// The size (columns, rows) of the controlling terminal, where a QR code is drawn.
pub fn console_size() -> Option<(usize, usize)> {
    use std::os::fd::AsRawFd;
    let tty = console_output()?;
    // SAFETY: winsize is plain data that TIOCGWINSZ fills for a terminal descriptor.
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        (libc::ioctl(tty.as_raw_fd(), libc::TIOCGWINSZ, &mut size) == 0
            && size.ws_col > 0
            && size.ws_row > 0)
            .then_some((usize::from(size.ws_col), usize::from(size.ws_row)))
    }
}

/// The width of the terminal standard output goes to, if it goes to one.
pub fn terminal_width() -> Option<usize> {
    // SAFETY: winsize is plain data that TIOCGWINSZ fills for a terminal.
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        (libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) == 0 && size.ws_col > 0)
            .then_some(usize::from(size.ws_col))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The process-identity readers on the platform the tests run on (Linux: /proc; macOS:
    // libproc): this process and its parent as the OS sees them.
    #[test]
    fn a_process_is_named_by_its_pid_and_start_time() {
        let me = std::process::id();
        let start = process_start(me).expect("our own start time");
        assert_eq!(process_start(me), Some(start), "stable");
        assert_eq!(parent_of(me), parent_pid());
        let exe = std::env::current_exe().unwrap().canonicalize().unwrap();
        assert_eq!(
            process_exe(me).map(|p| p.canonicalize().unwrap()),
            Some(exe)
        );
        // A child started after us started later, and is gone once reaped.
        let mut child = Command::new("sleep").arg("5").spawn().unwrap();
        let theirs = process_start(child.id()).expect("the child's start time");
        assert!(theirs >= start);
        assert_eq!(parent_of(child.id()), Some(me));
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(process_start(child.id()), None);
    }

    // What `server` uses to find the shell that evaluates its output (Linux: /proc;
    // macOS: libproc): a process holding a pipe's read end is found by the pipe its
    // writer names, and no longer once it closes that end.
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    #[test]
    fn the_holder_of_a_pipes_read_end_is_found_by_the_pipe() {
        let mut fds = [0; 2];
        // SAFETY: a two-element array, as pipe(2) needs.
        assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
        let [read, write] = fds;
        let me = std::process::id();
        let id = pipe_id(write).expect("the write end is a pipe");
        assert_eq!(pipe_id(write), Some(id), "stable");
        assert!(holds_read_end(me, id), "we hold the read end");
        // A file that is not a pipe names none.
        let file = std::fs::File::open("/dev/null").unwrap();
        assert_eq!(pipe_id(file.as_raw_fd()), None);
        // SAFETY: closing the read end we opened above.
        unsafe { libc::close(read) };
        assert!(!holds_read_end(me, id), "the read end is closed");
        // SAFETY: closing the write end we opened above.
        unsafe { libc::close(write) };
    }
}
