/*
 * bcryptprimitives.dll for Wine 8.0, which has none (Wine 9 added it). Rust's standard
 * library for Windows imports ProcessPrng from it (the documented CSPRNG entry point of
 * Windows 10+), so no Rust program starts under Wine 8.0 without it.
 *
 * scripts/cross compiles this with mingw-w64 into the throwaway Wine prefix's
 * system32, the place of the system DLL it stands in for; the awsmfa binary under test is
 * the release binary, untouched. It implements the documented contract on the
 * documented API Wine 8.0 does have: fill the buffer from the system RNG.
 */
#include <windows.h>
#include <bcrypt.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!BCRYPT_SUCCESS(BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG)))
            return FALSE;
        data += n;
        len -= n;
    }
    return TRUE;
}
