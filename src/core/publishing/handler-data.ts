// Handler choice and `<upd:HandlerSpecificData>` per payload kind. Shapes follow WSUS's own
// local-publishing transform (SoftwareDistributionPackage → update XML) and the real fragments
// named in notes/manifest-format.md:
//   .exe → CommandLineInstallation, cmd:InstallCommand Program/Arguments/RebootByDefault/DefaultResult + cmd:ReturnCode
//   .msi → WindowsInstaller, xsi:type msp:WindowsInstallerApp, msp:MsiData ProductCode/MsiFile/CommandLine/UninstallCommandLine
//   .msp → WindowsInstaller, xsi:type msp:WindowsInstaller, msp:MspData CommandLine/UninstallCommandLine/FullFilePatchCode/PatchCode
//   .msu → INFERENCE, no evidence found: WSUS local publishing supports only MSI, MSP and command-line
//          payloads, so an .msu goes through the command-line handler running wusa.exe on it. Whether
//          the client resolves a Program that is not inside the CAB (wusa.exe lives in System32) is
//          unverified against a real agent.

import type { PayloadFacts } from './payload-facts.js';
import type { PayloadKind } from './payload-kind.js';
import type { InstallResult, PublishSpec, ReturnCodeSpec } from './manifest.js';
import { NS, XSI, attrs, empty, type Prefix } from './xml-parts.js';

export const HANDLER_URI: Record<PayloadKind, string> = { exe: NS.cmd, msu: NS.cmd, msi: NS.msp, msp: NS.msp };
export const HANDLER_PREFIX: Record<PayloadKind, Prefix> = { exe: 'cmd', msu: 'cmd', msi: 'msp', msp: 'msp' };

/** ERROR_SUCCESS_REBOOT_REQUIRED and ERROR_SUCCESS_REBOOT_INITIATED are successes that need a restart. */
const EXE_RETURN_CODES: readonly ReturnCodeSpec[] = [
  { code: 0, result: 'Succeeded', reboot: false },
  { code: 3010, result: 'Succeeded', reboot: true },
  { code: 1641, result: 'Succeeded', reboot: true },
];
/** wusa.exe: also WU_S_ALREADY_INSTALLED (0x00240006) is a success, WU_E_NOT_APPLICABLE (0x80240017) a failure. */
const MSU_RETURN_CODES: readonly ReturnCodeSpec[] = [
  ...EXE_RETURN_CODES,
  { code: 0x00240006, result: 'Succeeded', reboot: false },
  { code: 0x80240017 - 0x100000000, result: 'Failed', reboot: false },
];
export const WUSA_DEFAULT_ARGUMENTS = '/quiet /norestart';

export function defaultReturnCodes(kind: 'exe' | 'msu'): readonly ReturnCodeSpec[] {
  return kind === 'exe' ? EXE_RETURN_CODES : MSU_RETURN_CODES;
}

function quoteArgument(s: string): string {
  return `"${s}"`;
}

function commandLine(spec: PublishSpec, kind: 'exe' | 'msu', payloadName: string): string {
  const install = spec.install;
  const program = kind === 'exe' ? payloadName : 'wusa.exe';
  const args = kind === 'exe' ? install.arguments : `${quoteArgument(payloadName)} ${install.arguments ?? WUSA_DEFAULT_ARGUMENTS}`;
  const defaultResult: InstallResult = install.defaultResult ?? 'Failed';
  const rebootByDefault = install.rebootByDefault ?? spec.behavior.reboot === 'AlwaysRequiresReboot';
  const codes = (install.returnCodes ?? defaultReturnCodes(kind))
    .map((c) => empty('cmd:ReturnCode', [['Code', c.code], ['Result', c.result], ['Reboot', c.reboot]]))
    .join('');
  return `<cmd:InstallCommand${attrs([['Program', program], ['Arguments', args], ['RebootByDefault', rebootByDefault], ['DefaultResult', defaultResult]])}>` +
    `${codes}</cmd:InstallCommand>`;
}

export function handlerSpecificDataXml(spec: PublishSpec, facts: PayloadFacts, payloadName: string): string {
  const open = (type: string): string => `<upd:HandlerSpecificData xsi:type="${type}" xmlns:xsi="${XSI}">`;
  switch (facts.kind) {
    case 'exe':
    case 'msu':
      return `${open('cmd:CommandLineInstallation')}${commandLine(spec, facts.kind, payloadName)}</upd:HandlerSpecificData>`;
    case 'msi':
      return open('msp:WindowsInstallerApp') + empty('msp:MsiData', [
        ['ProductCode', facts.productCode], ['MsiFile', payloadName],
        ['CommandLine', spec.install.arguments], ['UninstallCommandLine', spec.uninstall?.arguments],
      ]) + '</upd:HandlerSpecificData>';
    case 'msp':
      // The patch is a full-file patch, so its own code is also the FullFilePatchCode.
      return open('msp:WindowsInstaller') + empty('msp:MspData', [
        ['CommandLine', spec.install.arguments], ['UninstallCommandLine', spec.uninstall?.arguments],
        ['FullFilePatchCode', facts.patchCode], ['PatchCode', facts.patchCode],
      ]) + '</upd:HandlerSpecificData>';
  }
}
