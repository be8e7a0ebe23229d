/** Service-wide settings in the database (the Setting table), shared by every instance. */
import type { PrismaClient } from '../../db/client';

/** The stored value of `key`, or `make()` stored first by whichever instance gets there first. */
export async function settingOrCreate(prisma: PrismaClient, key: string, make: () => string): Promise<string> {
  const found = await prisma.setting.findUnique({ where: { key } });
  if (found) return found.value;
  try {
    return (await prisma.setting.create({ data: { key, value: make() } })).value;
  } catch {
    // another instance created it meanwhile
    const row = await prisma.setting.findUnique({ where: { key } });
    if (!row) throw new Error(`could not read or create the setting ${key}`);
    return row.value;
  }
}
