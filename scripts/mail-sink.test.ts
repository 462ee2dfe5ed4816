// The SMTP sink of `npm start`: a message sent to it with nodemailer lands,
// verbatim, as an .eml file named by arrival time and Message-ID.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@carebook/server';
import { startMailSink, type MailSink } from './mail-sink';

describe('mail sink', () => {
  let dir: string;
  let sink: MailSink;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'carebook-mail-'));
    sink = await startMailSink({ dir: join(dir, 'mail'), host: '127.0.0.1', port: 0, log: createLogger('start', 'silent') });
  });
  afterAll(async () => {
    await sink.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('writes each accepted message as an .eml file, in order of arrival', async () => {
    const transport = createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true });
    const ids = ['<a1.confirmation.email@notifications.carebook>', '<a1.reminder.3600s.email@notifications.carebook>'];
    for (const [i, messageId] of ids.entries()) {
      const info = await transport.sendMail({ from: 'no-reply@carebook.test', to: 'jane@example.org', subject: `Message ${i}`, text: `Body ${i}`, messageId });
      expect(info.response).toMatch(/^250/);
    }
    transport.close();

    const files = (await readdir(join(dir, 'mail'))).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-a1\.confirmation\.email@notifications\.carebook\.eml$/);
    expect(files[1]).toMatch(/-a1\.reminder\.3600s\.email@notifications\.carebook\.eml$/);
    const first = await readFile(join(dir, 'mail', files[0]), 'utf8');
    expect(first).toMatch(/^Subject: Message 0\r$/m);
    expect(first).toMatch(/^Message-ID: <a1\.confirmation\.email@notifications\.carebook>\r$/m);
    expect(first).toContain('Body 0');
  });

  it('keeps a second copy of the same message rather than overwriting the first', async () => {
    const transport = createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true });
    const mail = { from: 'no-reply@carebook.test', to: 'jane@example.org', subject: 'Twice', text: 'Twice', messageId: '<twice@notifications.carebook>' };
    await Promise.all([transport.sendMail(mail), transport.sendMail(mail)]);
    transport.close();
    expect((await readdir(join(dir, 'mail'))).filter((f) => f.includes('twice@'))).toHaveLength(2);
  });
});
