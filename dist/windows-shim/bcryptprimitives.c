/*
 * A stand-in bcryptprimitives.dll for running slogate.exe under Wine -- a TEST-HARNESS SHIM,
 * not part of what users get.
 *
 * Rust's std (since 1.78) takes its random bytes (HashMap keys) from ProcessPrng in
 * bcryptprimitives.dll, which every Windows 10+ has. Debian's Wine 8 ships no such DLL, so the
 * loader fails before main and the .exe exits 53. dist/test-windows.sh puts this DLL beside the
 * .exe in its temporary folder only; releases never contain it.
 *
 * ProcessPrng is implemented on RtlGenRandom (advapi32!SystemFunction036), which Wine has.
 * Build: x86_64-w64-mingw32-gcc -shared -O2 -o bcryptprimitives.dll bcryptprimitives.c \
 *          bcryptprimitives.def -ladvapi32
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

/* Always succeeds on Windows ("always returns TRUE"); here it fails only if RtlGenRandom does. */
BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len)
{
    while (len > 0) {
        ULONG chunk = len > 0x40000000 ? 0x40000000 : (ULONG)len;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
