//! The Windows side of [`crate::sys`].
//!
//! Files are private the way everything under a Windows user profile is: a new file or
//! directory inherits the access list of its parent, and `%USERPROFILE%`,
//! `%LOCALAPPDATA%` and `%APPDATA%` grant the user, SYSTEM and Administrators only.
//! awsmfa sets no access list of its own and checks none (there are no Unix modes to
//! check); a cache or vault directory pointed elsewhere (`AWSMFA_CACHE_DIR`) gets that
//! directory's access list.

use std::ffi::OsString;
use std::fs::{File, Metadata, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStringExt;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::{AsRawHandle, IntoRawHandle};
use std::os::windows::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use windows_sys::Win32::Foundation::{
    CloseHandle, ERROR_ACCESS_DENIED, ERROR_SHARING_VIOLATION, FILETIME, HANDLE,
    HANDLE_FLAG_INHERIT, INVALID_HANDLE_VALUE, SetHandleInformation, WAIT_TIMEOUT,
};
use windows_sys::Win32::Storage::FileSystem::FILE_FLAG_OPEN_REPARSE_POINT;
use windows_sys::Win32::System::Console::{
    ENABLE_ECHO_INPUT, ENABLE_LINE_INPUT, GetConsoleMode, GetStdHandle, ReadConsoleW,
    STD_ERROR_HANDLE, STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, SetConsoleCtrlHandler, SetConsoleMode,
    SetStdHandle, WriteConsoleW,
};
use windows_sys::Win32::System::Diagnostics::ToolHelp::{
    CreateToolhelp32Snapshot, PROCESSENTRY32W, Process32FirstW, Process32NextW, TH32CS_SNAPPROCESS,
};
use windows_sys::Win32::System::JobObjects::{
    AssignProcessToJobObject, CreateJobObjectW, TerminateJobObject,
};
use windows_sys::Win32::System::Threading::{
    CREATE_NEW_PROCESS_GROUP, CREATE_NO_WINDOW, DETACHED_PROCESS, GetCurrentProcessId,
    GetProcessTimes, OpenProcess, PROCESS_QUERY_LIMITED_INFORMATION, PROCESS_SYNCHRONIZE,
    PROCESS_TERMINATE, QueryFullProcessImageNameW, TerminateProcess, WaitForSingleObject,
};
use zeroize::Zeroizing;

// ---------------------------------------------------------------------------------------
// Terminal

/// The console (`CONIN$` and `CONOUT$`), which works even when standard input and output
/// are pipes (`credential_process`, `$(…)` in PowerShell).
pub struct Console {
    input: File,
    output: File,
}

impl Console {
    /// The console, when the process has one.
    pub fn open() -> Option<Console> {
        let input = OpenOptions::new()
            .read(true)
            .write(true)
            .open("CONIN$")
            .ok()?;
        let output = OpenOptions::new()
            .read(true)
            .write(true)
            .open("CONOUT$")
            .ok()?;
        // A handle that is not a console (a redirected device under an emulator) has
        // no mode: then there is no one to ask.
        let mut mode = 0;
        // SAFETY: a valid handle and a place for the answer.
        if unsafe { GetConsoleMode(input.as_raw_handle() as HANDLE, &mut mode) } == 0 {
            return None;
        }
        Some(Console { input, output })
    }

    /// Writes UTF-8 text as the console's own UTF-16 (whatever its code page).
    pub fn write(&self, text: &[u8]) -> io::Result<()> {
        let wide: Vec<u16> = String::from_utf8_lossy(text).encode_utf16().collect();
        let mut rest = &wide[..];
        while !rest.is_empty() {
            let mut written = 0;
            // SAFETY: a console handle and a buffer of the length given.
            let ok = unsafe {
                WriteConsoleW(
                    self.output.as_raw_handle() as HANDLE,
                    rest.as_ptr(),
                    rest.len().min(8192) as u32,
                    &mut written,
                    std::ptr::null(),
                )
            };
            if ok == 0 || written == 0 {
                return Err(io::Error::last_os_error());
            }
            rest = &rest[written as usize..];
        }
        Ok(())
    }

    /// One line as typed (at most `limit` characters), without its line break. Read as
    /// UTF-16 with `ReadConsoleW`, so a passphrase means the same whatever the console's
    /// code page.
    pub fn read_line(&self, limit: u64) -> io::Result<Zeroizing<String>> {
        let mut units: Zeroizing<Vec<u16>> = Zeroizing::new(Vec::new());
        let mut buf: Zeroizing<[u16; 256]> = Zeroizing::new([0; 256]);
        loop {
            let mut read = 0;
            // SAFETY: a console input handle and a buffer of the length given.
            let ok = unsafe {
                ReadConsoleW(
                    self.input.as_raw_handle() as HANDLE,
                    buf.as_mut_ptr().cast(),
                    buf.len() as u32,
                    &mut read,
                    std::ptr::null(),
                )
            };
            if ok == 0 {
                return Err(io::Error::last_os_error());
            }
            units.extend_from_slice(&buf[..read as usize]);
            if read == 0 || units.contains(&u16::from(b'\n')) || units.len() as u64 > limit {
                break;
            }
        }
        let end = units
            .iter()
            .position(|&c| c == u16::from(b'\r') || c == u16::from(b'\n'))
            .unwrap_or(units.len())
            .min(limit as usize);
        Ok(Zeroizing::new(String::from_utf16_lossy(&units[..end])))
    }

    /// One line read with echo off; the console mode is restored whatever the read does.
    pub fn read_hidden(&self, limit: u64) -> io::Result<Zeroizing<String>> {
        let handle = self.input.as_raw_handle() as HANDLE;
        let mut saved = 0;
        // SAFETY: a valid console handle and a place for the answer.
        if unsafe { GetConsoleMode(handle, &mut saved) } == 0 {
            return Err(io::Error::last_os_error());
        }
        let quiet = (saved & !ENABLE_ECHO_INPUT) | ENABLE_LINE_INPUT;
        // SAFETY: as above.
        unsafe { SetConsoleMode(handle, quiet) };
        let read = self.read_line(limit);
        // SAFETY: restores what GetConsoleMode returned.
        unsafe { SetConsoleMode(handle, saved) };
        let _ = self.write(b"\r\n");
        read
    }
}

/// The console for writing only (a QR code, a notice under `credential_process`).
pub fn console_output() -> Option<File> {
    Console::open().map(|c| c.output)
}

// ---------------------------------------------------------------------------------------
// This process

/// Nothing to lower: Windows writes no core files; crash dumps are Windows Error
/// Reporting's, off unless an administrator configured `LocalDumps`.
pub fn harden() {}

/// Nothing to restore (see [`harden`]).
pub fn restore_limits(_cmd: &mut Command) {}

// ---------------------------------------------------------------------------------------
// Helper commands and children

/// A helper command (`mfa_process`, the passphrase command) through `cmd /C`, as
/// aws-vault runs them. `/S` and the outer quotes make cmd take the command exactly as
/// written, quotes included (`"C:\Program Files\…\ykman.exe" oath …`). One raw
/// argument: separate ones are joined with spaces, which cmd kept inside the quotes
/// (`echo secret` printed `secret `).
pub fn shell_command(command: &str) -> Command {
    let mut cmd = Command::new("cmd.exe");
    cmd.raw_arg(format!("/S /C \"{command}\""));
    cmd
}

/// A source profile's `credential_process` as botocore runs it on Windows: no shell; the
/// first word (quoted if it has spaces) is the program, the rest of the line is passed
/// to it as written.
pub fn credential_process_command(command: &str) -> Result<Command, String> {
    let (program, rest) = super::split_program(command);
    if program.is_empty() {
        return Err("its command line is empty".into());
    }
    let mut cmd = Command::new(program);
    if !rest.is_empty() {
        cmd.raw_arg(rest);
    }
    Ok(cmd)
}

/// A helper command and everything it started: a job object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group(isize);

impl Group {
    /// Nothing to do before spawning: the child joins a job after.
    pub fn prepare(_cmd: &mut Command) {}

    /// A new job holding the child (and what it starts from now on).
    pub fn of(child: &Child) -> Group {
        // SAFETY: no attributes, no name; the child's handle is open while `child` is.
        unsafe {
            let job = CreateJobObjectW(std::ptr::null(), std::ptr::null());
            if job.is_null() {
                return Group(0);
            }
            AssignProcessToJobObject(job, child.as_raw_handle() as HANDLE);
            Group(job as isize)
        }
    }

    /// Ends every process in the job.
    pub fn kill(self) {
        if self.0 != 0 {
            // SAFETY: a job handle this process created and has not closed.
            unsafe { TerminateJobObject(self.0 as HANDLE, 1) };
        }
    }

    /// Closes the job handle (its processes go on).
    pub fn release(self) {
        if self.0 != 0 {
            // SAFETY: as above; closed once.
            unsafe { CloseHandle(self.0 as HANDLE) };
        }
    }
}

/// Starts the command detached from this console, in a process group of its own, with
/// no window (the background credentials server). awsmfa's own standard handles stop
/// being inheritable first: `CreateProcess` would otherwise hand the server a copy of
/// the pipe that `$(awsmfa server)` reads, which then never ends. (A child's inherited
/// standard handles are duplicates std makes, so other children are unaffected.)
pub fn new_session(cmd: &mut Command) {
    for which in [STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE] {
        // SAFETY: flags of this process's own standard handles; a null or invalid one
        // is left alone.
        unsafe {
            let h = GetStdHandle(which);
            if !h.is_null() && h != INVALID_HANDLE_VALUE {
                SetHandleInformation(h, HANDLE_FLAG_INHERIT, 0);
            }
        }
    }
    cmd.creation_flags(DETACHED_PROCESS | CREATE_NEW_PROCESS_GROUP | CREATE_NO_WINDOW);
}

unsafe extern "system" fn ignore_interrupt(_ctrl: u32) -> windows_sys::core::BOOL {
    // Handled: the child, on the same console, receives Ctrl-C itself and decides.
    1
}

/// Ctrl-C and Ctrl-Break reach every process on the console, the child included: awsmfa
/// lets the child decide and waits for it. A handler that returns "handled" is not
/// inherited, unlike ignoring the events, so the child keeps its own Ctrl-C.
pub fn install_interrupt_forwarding() {
    // SAFETY: installs a handler that only returns.
    unsafe { SetConsoleCtrlHandler(Some(ignore_interrupt), 1) };
}

/// Nothing to record: the console delivers the events to the child.
pub fn forward_interrupts_to(_pid: u32) {}

/// A child's exit code, as `%ERRORLEVEL%` shows it.
pub fn exit_code(status: ExitStatus) -> i32 {
    status.code().unwrap_or(1)
}

/// A stop request for the server: a console event (Ctrl-C, Ctrl-Break, the window
/// closing), when it has a console.
pub struct StopSignals(());

static STOP_WAITER: Mutex<Option<std::thread::Thread>> = Mutex::new(None);
static STOP_EVENT: Mutex<Option<u32>> = Mutex::new(None);

unsafe extern "system" fn note_stop(ctrl: u32) -> windows_sys::core::BOOL {
    *STOP_EVENT.lock().unwrap_or_else(|e| e.into_inner()) = Some(ctrl);
    if let Some(t) = STOP_WAITER
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
    {
        t.unpark();
    }
    // Give the waiting thread time to clean up before Windows ends the process.
    std::thread::sleep(Duration::from_secs(2));
    1
}

/// Routes console events to [`wait_for_signal`].
pub fn block_stop_signals() -> StopSignals {
    // SAFETY: installs a handler that only touches its own statics.
    unsafe { SetConsoleCtrlHandler(Some(note_stop), 1) };
    StopSignals(())
}

/// Waits for a console event and returns its number. A detached server has no console:
/// `server --stop` ends it (the record's lock goes with it, so it counts as gone).
pub fn wait_for_signal(_signals: &StopSignals) -> i32 {
    *STOP_WAITER.lock().unwrap_or_else(|e| e.into_inner()) = Some(std::thread::current());
    loop {
        if let Some(ctrl) = *STOP_EVENT.lock().unwrap_or_else(|e| e.into_inner()) {
            return ctrl as i32;
        }
        std::thread::park();
    }
}

/// Points standard error at `file` (std looks the handle up on every write) and closes
/// the old one, so whoever reads it sees its end.
pub fn redirect_stderr(file: &File) {
    if let Ok(copy) = file.try_clone() {
        // SAFETY: the new handle stays open for the rest of the process; the old one is
        // ours to close once replaced.
        unsafe {
            let old = GetStdHandle(STD_ERROR_HANDLE);
            SetStdHandle(STD_ERROR_HANDLE, copy.into_raw_handle() as HANDLE);
            if !old.is_null() && old != INVALID_HANDLE_VALUE {
                CloseHandle(old);
            }
        }
    }
}

/// Closes standard output for readers (it then points at NUL).
pub fn close_stdout() {
    if let Ok(null) = OpenOptions::new().write(true).open("NUL") {
        // SAFETY: the old handle is ours to close once replaced; NUL stays open.
        unsafe {
            let old = GetStdHandle(STD_OUTPUT_HANDLE);
            SetStdHandle(STD_OUTPUT_HANDLE, null.into_raw_handle() as HANDLE);
            if !old.is_null() && old != INVALID_HANDLE_VALUE {
                CloseHandle(old);
            }
        }
    }
}

/// `(parent id, executable name)` of process `pid`, from a process snapshot.
fn process_entry(pid: u32) -> Option<(u32, String)> {
    // SAFETY: the snapshot handle is closed below; the entry is sized as required.
    unsafe {
        let snap = CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
        if snap == INVALID_HANDLE_VALUE {
            return None;
        }
        let mut entry: PROCESSENTRY32W = std::mem::zeroed();
        entry.dwSize = std::mem::size_of::<PROCESSENTRY32W>() as u32;
        let mut found = None;
        let mut more = Process32FirstW(snap, &mut entry) != 0;
        while more {
            if entry.th32ProcessID == pid {
                let len = entry
                    .szExeFile
                    .iter()
                    .position(|&c| c == 0)
                    .unwrap_or(entry.szExeFile.len());
                let name = OsString::from_wide(&entry.szExeFile[..len]);
                found = Some((
                    entry.th32ParentProcessID,
                    name.to_string_lossy().into_owned(),
                ));
                break;
            }
            more = Process32NextW(snap, &mut entry) != 0;
        }
        CloseHandle(snap);
        found
    }
}

/// The process that started awsmfa.
pub fn parent_pid() -> Option<u32> {
    // SAFETY: GetCurrentProcessId cannot fail.
    let me = unsafe { GetCurrentProcessId() };
    process_entry(me).map(|(parent, _)| parent)
}

/// The executable name of the process that started awsmfa (`powershell.exe`,
/// `cmd.exe`), lower-cased, to tell which shell evaluates its output.
pub fn parent_name() -> Option<String> {
    let (_, name) = process_entry(parent_pid()?)?;
    Some(name.to_ascii_lowercase())
}

fn open_process(pid: u32, access: u32) -> Option<HANDLE> {
    // SAFETY: plain call; a null handle means no such process (or no access).
    let h = unsafe { OpenProcess(access, 0, pid) };
    (!h.is_null()).then_some(h)
}

/// Whether process `pid` still runs.
pub fn alive(pid: u32) -> bool {
    let Some(h) = open_process(pid, PROCESS_SYNCHRONIZE) else {
        return io::Error::last_os_error().raw_os_error() == Some(ERROR_ACCESS_DENIED as i32);
    };
    // SAFETY: an open handle, closed once.
    unsafe {
        let running = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
        CloseHandle(h);
        running
    }
}

/// Ends process `pid`: Windows has no polite request for a process without a window.
pub fn terminate(pid: u32) {
    kill(pid)
}

/// Ends process `pid`.
pub fn kill(pid: u32) {
    if let Some(h) = open_process(pid, PROCESS_TERMINATE) {
        // SAFETY: an open handle, closed once.
        unsafe {
            TerminateProcess(h, 1);
            CloseHandle(h);
        }
    }
}

/// When process `pid` was created (a `FILETIME`, 100 ns units): with the pid, it names
/// one process for good, where a pid alone is reused. A process that has ended counts
/// as gone even while someone still holds a handle to it (its object and times stay),
/// as a zombie does on Unix: it runs nothing and holds nothing.
pub fn process_start(pid: u32) -> Option<u64> {
    let h = open_process(pid, PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_SYNCHRONIZE)?;
    let zero = FILETIME {
        dwLowDateTime: 0,
        dwHighDateTime: 0,
    };
    let (mut created, mut exited, mut kernel, mut user) = (zero, zero, zero, zero);
    // SAFETY: an open handle, closed once; four FILETIMEs to fill.
    let (ok, running) = unsafe {
        let running = WaitForSingleObject(h, 0) == WAIT_TIMEOUT;
        let ok = GetProcessTimes(h, &mut created, &mut exited, &mut kernel, &mut user);
        CloseHandle(h);
        (ok, running)
    };
    (ok != 0 && running)
        .then(|| (u64::from(created.dwHighDateTime) << 32) | u64::from(created.dwLowDateTime))
}

/// The parent of process `pid`.
pub fn parent_of(pid: u32) -> Option<u32> {
    process_entry(pid).map(|(parent, _)| parent)
}

/// The executable process `pid` runs.
pub fn process_exe(pid: u32) -> Option<std::path::PathBuf> {
    use std::os::windows::ffi::OsStringExt;
    let h = open_process(pid, PROCESS_QUERY_LIMITED_INFORMATION)?;
    let mut buf = vec![0u16; 32 * 1024];
    let mut len = buf.len() as u32;
    // SAFETY: an open handle, closed once; a buffer of the length given.
    let ok = unsafe {
        let ok = QueryFullProcessImageNameW(h, 0, buf.as_mut_ptr(), &mut len);
        CloseHandle(h);
        ok
    };
    (ok != 0).then(|| std::ffi::OsString::from_wide(&buf[..len as usize]).into())
}

/// Windows: no pipe reader to find; the caller falls back to the parent shell.
pub fn stdout_reader() -> Option<u32> {
    None
}

/// A temporary directory in `parent`, private by the access list it inherits; removed
/// on drop.
pub fn private_tempdir(parent: &Path, prefix: &str) -> io::Result<tempfile::TempDir> {
    tempfile::Builder::new().prefix(prefix).tempdir_in(parent)
}

// ---------------------------------------------------------------------------------------
// Sockets

/// Waits up to `timeout` until the listener has a connection to accept or one of
/// `streams` has something to read (or was closed); `ready[0]` is the listener's,
/// `ready[i + 1]` stream `i`'s (`WSAPoll`).
pub fn wait_readable(
    listener: &std::net::TcpListener,
    streams: &[&std::net::TcpStream],
    timeout: std::time::Duration,
    ready: &mut Vec<bool>,
) -> io::Result<()> {
    use std::os::windows::io::AsRawSocket;
    use windows_sys::Win32::Networking::WinSock::{POLLRDNORM, WSAPOLLFD, WSAPoll};
    let mut fds: Vec<WSAPOLLFD> = std::iter::once(listener.as_raw_socket())
        .chain(streams.iter().map(|s| s.as_raw_socket()))
        .map(|fd| WSAPOLLFD {
            fd: fd as usize,
            events: POLLRDNORM,
            revents: 0,
        })
        .collect();
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: `fds` is a valid array of its length for the duration of the call.
    let n = unsafe { WSAPoll(fds.as_mut_ptr(), fds.len() as u32, ms) };
    ready.clear();
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    ready.extend(fds.iter().map(|p| p.revents != 0));
    Ok(())
}

/// Windows has no per-process limit of sockets to raise.
pub fn raise_open_files_limit() -> u64 {
    u64::from(u32::MAX)
}

/// An always-empty file.
pub fn null_device() -> &'static str {
    "NUL"
}

// ---------------------------------------------------------------------------------------
// Files

/// Creates `dir` and its missing parents (private by the inherited access list).
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).create(dir)
}

/// Sets up `opts` to open a symbolic link (a reparse point) itself rather than what it
/// points to, so the caller's check of what was opened refuses it.
pub fn open_nofollow(opts: &mut OpenOptions, _create: bool) {
    opts.custom_flags(FILE_FLAG_OPEN_REPARSE_POINT);
}

/// Windows reports no loop: a link opened with [`open_nofollow`] shows as a symlink.
pub fn is_symlink_loop(_e: &io::Error) -> bool {
    false
}

/// Reads `buf.len()` bytes of `file` at `offset` (`ReadFile` with an offset).
pub fn read_exact_at(file: &File, offset: u64, mut buf: &mut [u8]) -> io::Result<()> {
    use std::os::windows::fs::FileExt;
    let mut at = offset;
    while !buf.is_empty() {
        match file.seek_read(buf, at)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => {
                buf = &mut buf[n..];
                at += n as u64;
            }
        }
    }
    Ok(())
}

/// Windows has no change time that every write sets (and no inode number in std's
/// metadata): no stamp, so the file index is not used there.
pub fn file_stamp(_meta: &Metadata) -> Option<[i64; 7]> {
    None
}

/// Owner and mode are Unix ideas; privacy on Windows is the inherited access list.
pub fn owner_and_mode(_meta: &Metadata) -> Option<Owner> {
    None
}

/// See [`owner_and_mode`]: never built on Windows.
#[derive(Debug, Clone, Copy)]
pub struct Owner {
    pub uid: u32,
    pub mode: u32,
    pub links: u64,
}

/// No user ids on Windows (see [`owner_and_mode`]).
pub fn euid() -> u32 {
    u32::MAX
}

/// Nothing to set: see the module's note on access lists.
pub fn set_private_mode(_path: &Path, _mode: u32) -> io::Result<()> {
    Ok(())
}

/// Windows cannot open a directory to flush it, and NTFS journals the rename itself.
pub fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

/// Renames the finished temporary file over `target` (`MoveFileEx` with replace). Another
/// process that holds the target open without delete sharing (an editor, an antivirus
/// scanner, the AWS CLI reading it) makes that fail for a moment: retried for up to 5 s.
pub fn replace_file(
    mut tmp: tempfile::NamedTempFile,
    target: &Path,
) -> Result<(), tempfile::PersistError> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match tmp.persist(target) {
            Ok(_) => return Ok(()),
            Err(e) => {
                let code = e.error.raw_os_error();
                let busy = code == Some(ERROR_ACCESS_DENIED as i32)
                    || code == Some(ERROR_SHARING_VIOLATION as i32);
                if !busy || Instant::now() >= deadline {
                    return Err(e);
                }
                tmp = e.file;
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

/// The console event [`cleanup_on_interrupt`]'s handler saw, and a way to wake its
/// waiting thread.
static INTERRUPT: (Mutex<Option<u32>>, std::sync::Condvar) =
    (Mutex::new(None), std::sync::Condvar::new());

unsafe extern "system" fn note_interrupt(ctrl: u32) -> windows_sys::core::BOOL {
    *INTERRUPT.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(ctrl);
    INTERRUPT.1.notify_all();
    if ctrl >= 2 {
        // The console closing, a log-off, a shutdown: Windows ends the process when the
        // handler returns, so the cleanup gets a few seconds first.
        std::thread::sleep(Duration::from_secs(5));
    }
    1
}

/// Runs `work` with console events (Ctrl-C, Ctrl-Break, the window closing) turned into
/// a call of `cleanup` on another thread, as SIGINT/SIGBREAK/SIGHUP are on Unix; when
/// `cleanup` did the cleaning (`true`), the process exits with 128+N (130 for Ctrl-C).
pub fn cleanup_on_interrupt<R>(
    cleanup: impl Fn(i32) -> bool + Sync,
    work: impl FnOnce() -> R,
) -> R {
    use std::sync::atomic::{AtomicBool, Ordering};
    let done = AtomicBool::new(false);
    *INTERRUPT.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    // SAFETY: installs a handler that only touches its own statics.
    unsafe { SetConsoleCtrlHandler(Some(note_interrupt), 1) };
    let result = std::thread::scope(|scope| {
        scope.spawn(|| {
            loop {
                let mut event = INTERRUPT.0.lock().unwrap_or_else(|e| e.into_inner());
                while event.is_none() && !done.load(Ordering::SeqCst) {
                    event = INTERRUPT.1.wait(event).unwrap_or_else(|e| e.into_inner());
                }
                if done.load(Ordering::SeqCst) {
                    return;
                }
                let ctrl = event.take().unwrap_or_default();
                drop(event);
                // CTRL_C_EVENT → SIGINT, CTRL_BREAK_EVENT → SIGBREAK, the rest → SIGHUP.
                let sig = match ctrl {
                    0 => 2,
                    1 => 21,
                    _ => 1,
                };
                if cleanup(sig) {
                    std::process::exit(128 + sig);
                }
            }
        });
        let result = work();
        done.store(true, Ordering::SeqCst);
        let _guard = INTERRUPT.0.lock().unwrap_or_else(|e| e.into_inner());
        INTERRUPT.1.notify_all();
        result
    });
    // SAFETY: removes the handler installed above.
    unsafe { SetConsoleCtrlHandler(Some(note_interrupt), 0) };
    result
}

/// The size (columns, rows) of the console's visible window, where a QR code is drawn.
pub fn console_size() -> Option<(usize, usize)> {
    use windows_sys::Win32::System::Console::{
        CONSOLE_SCREEN_BUFFER_INFO, GetConsoleScreenBufferInfo,
    };
    let out = console_output()?;
    // SAFETY: the info struct is plain data the call fills for a console handle.
    unsafe {
        let mut info: CONSOLE_SCREEN_BUFFER_INFO = std::mem::zeroed();
        if GetConsoleScreenBufferInfo(out.as_raw_handle() as HANDLE, &mut info) == 0 {
            return None;
        }
        let w = i32::from(info.srWindow.Right) - i32::from(info.srWindow.Left) + 1;
        let h = i32::from(info.srWindow.Bottom) - i32::from(info.srWindow.Top) + 1;
        Some((usize::try_from(w).ok()?, usize::try_from(h).ok()?)).filter(|(w, h)| *w > 0 && *h > 0)
    }
}

/// The width of the console standard output goes to, if it goes to one.
pub fn terminal_width() -> Option<usize> {
    use windows_sys::Win32::System::Console::{
        CONSOLE_SCREEN_BUFFER_INFO, GetConsoleScreenBufferInfo,
    };
    // SAFETY: the info struct is plain data the call fills for a console handle; any
    // other handle makes the call fail.
    unsafe {
        let handle = GetStdHandle(STD_OUTPUT_HANDLE);
        if handle.is_null() || handle == INVALID_HANDLE_VALUE {
            return None;
        }
        let mut info: CONSOLE_SCREEN_BUFFER_INFO = std::mem::zeroed();
        if GetConsoleScreenBufferInfo(handle, &mut info) == 0 {
            return None;
        }
        let width = i32::from(info.srWindow.Right) - i32::from(info.srWindow.Left) + 1;
        usize::try_from(width).ok().filter(|w| *w > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The process-identity readers on Windows (Toolhelp, GetProcessTimes,
    // QueryFullProcessImageNameW): this process and a child as the OS sees them.
    #[test]
    fn a_process_is_named_by_its_pid_and_start_time() {
        let me = std::process::id();
        let start = process_start(me).expect("our own start time");
        assert_eq!(process_start(me), Some(start), "stable");
        assert!(alive(me));
        assert_eq!(parent_of(me), parent_pid());
        let exe = std::env::current_exe().unwrap().canonicalize().unwrap();
        assert_eq!(
            process_exe(me).map(|p| p.canonicalize().unwrap()),
            Some(exe)
        );
        // A child started after us started later, and is gone once it ends.
        let mut child = Command::new("ping")
            .args(["-n", "30", "127.0.0.1"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let theirs = process_start(pid).expect("the child's start time");
        assert!(theirs >= start);
        assert_eq!(parent_of(pid), Some(me));
        // Ended, while our handle still holds its object: gone all the same.
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(process_start(pid), None);
        assert!(!alive(pid));
        drop(child);
        assert_eq!(process_start(pid), None);
    }
}
